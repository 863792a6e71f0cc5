import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { ConsumerGroupRuntime, recordVideoReceipt } from '@video-pipeline/consumer';
import { createKafka, consumerGroups } from '@video-pipeline/kafka';
import { makeVideo } from '../support/fixtures';
import { API_KEY, OTHER_API_KEY, createTopics, eventually, startRelay, startUploadApi, testLogger, type RunningApi, type RunningRelay } from '../support/pipeline';
import { headersAsStrings, startProbeConsumer } from '../support/probe-consumer';
import { testConfig, uniquePrefix } from '../support/test-env';
import { getJson, uploadFile } from '../support/upload-client';
import { otherEventsIgnored } from '../support/events';

describe('an upload travels from the API to all five consumer groups', () => {
  const prefix = uniquePrefix('e2e');
  const config = testConfig(prefix, { S3_BUCKET: `e2e-${Date.now().toString(36)}` });
  const kafka = createKafka(config.kafka, testLogger());
  let api: RunningApi;
  let relay: RunningRelay;
  let groups: ConsumerGroupRuntime[];
  let probe: Awaited<ReturnType<typeof startProbeConsumer>>;

  beforeAll(async () => {
    await createTopics(kafka, prefix);
    api = await startUploadApi(config);
    relay = await startRelay(config);
    groups = consumerGroups.map(
      (group) =>
        new ConsumerGroupRuntime({
          group,
          handlers: { ...otherEventsIgnored, 'video.uploaded': async (event, context) => recordVideoReceipt(event, context) },
          kafka,
          prisma: api.prisma,
          logger: testLogger(),
          topicPrefix: prefix,
        }),
    );
    await Promise.all(groups.map((group) => group.start()));
    probe = await startProbeConsumer(kafka, `${prefix}video.uploaded`, `${prefix}probe`);
  });

  afterAll(async () => {
    await probe?.stop();
    await Promise.all((groups ?? []).map((group) => group.stop()));
    await relay?.close();
    await api?.close();
  });

  it('stores the bytes, answers 201, and announces video.uploaded as a CloudEvent', async () => {
    const file = await makeVideo({ seconds: 2 });
    const bytes = await fs.readFile(file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    const response = await uploadFile(api.baseUrl, API_KEY, { file: { path: file, name: 'clip.txt', type: 'text/plain' }, fields: { title: 'Test pattern' } });

    expect(response.status).toBe(201);
    const video = response.body;
    expect(video).toMatchObject({ status: 'uploaded', title: 'Test pattern', object: { sizeBytes: bytes.length, sha256, contentType: 'video/mp4', bucket: config.storage.bucket } });
    expect(response.headers.get('location')).toBe(`/v1/videos/${video.id}`);
    expect(await api.storage.objectExists(video.object.key)).toBe(true);

    const record = await eventually(async () => probe.received.find((r) => r.message.key?.toString() === video.id), 20_000, 'video.uploaded on the probe consumer');
    const headers = headersAsStrings(record.message);
    expect(headers).toMatchObject({ ce_specversion: '1.0', ce_type: 'video.uploaded', ce_source: '/video-pipeline/test', ce_subject: video.id, 'content-type': 'application/json' });
    expect(headers.ce_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(headers.ce_time!))).toBe(false);
    expect(JSON.parse(record.message.value!.toString())).toEqual({
      schemaVersion: 1,
      videoId: video.id,
      ownerId: 'alice',
      title: 'Test pattern',
      object: { bucket: config.storage.bucket, key: video.object.key, sizeBytes: bytes.length, sha256, contentType: 'video/mp4' },
      uploadedAt: video.createdAt,
    });

    for (const group of groups) {
      const receipt = await eventually(
        () => api.prisma.videoReceipt.findUnique({ where: { consumerGroup_videoId: { consumerGroup: group.groupId, videoId: video.id } } }),
        20_000,
        `${group.groupId} to record the video`,
      );
      expect(receipt.eventId).toBe(headers.ce_id);
    }
    const outbox = await api.prisma.outboxEvent.findUniqueOrThrow({ where: { id: headers.ce_id } });
    expect(outbox.publishedAt).not.toBeNull();
  });

  it('lets the owner read and list the video, and hides it from everyone else', async () => {
    const file = await makeVideo({ seconds: 1, format: 'webm' });
    const first = await uploadFile(api.baseUrl, API_KEY, { file: { path: file } });
    const second = await uploadFile(api.baseUrl, API_KEY, { file: { path: file } });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.object.contentType).toBe('video/webm');
    expect(first.body.title).toBeNull();

    const own = await getJson(api.baseUrl, `/v1/videos/${first.body.id}`, API_KEY);
    expect(own.status).toBe(200);
    expect(own.body).toEqual(first.body);

    const foreign = await getJson(api.baseUrl, `/v1/videos/${first.body.id}`, OTHER_API_KEY);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    expect((await getJson(api.baseUrl, '/v1/videos/not-a-uuid', API_KEY)).status).toBe(404);

    const page1 = await getJson(api.baseUrl, '/v1/videos?limit=1', API_KEY);
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((v: { id: string }) => v.id)).toEqual([second.body.id]);
    const page2 = await getJson(api.baseUrl, `/v1/videos?limit=1&cursor=${page1.body.nextCursor}`, API_KEY);
    expect(page2.body.items.map((v: { id: string }) => v.id)).toEqual([first.body.id]);

    const bobs = await getJson(api.baseUrl, '/v1/videos', OTHER_API_KEY);
    expect(bobs.body.items.map((v: { id: string }) => v.id)).not.toContain(first.body.id);

    expect((await getJson(api.baseUrl, '/v1/videos?cursor=garbage', API_KEY)).body.error.code).toBe('invalid_cursor');
    expect((await getJson(api.baseUrl, '/v1/videos?limit=1000', API_KEY)).body.error.code).toBe('invalid_request');
  });

  it('answers 401 without a valid API key', async () => {
    const missing = await getJson(api.baseUrl, '/v1/videos');
    const wrong = await getJson(api.baseUrl, '/v1/videos', 'nope');
    expect([missing.status, wrong.status]).toEqual([401, 401]);
    expect(missing.body.error.code).toBe('unauthorized');
  });

  it('reports readiness of its dependencies', async () => {
    expect((await getJson(api.baseUrl, '/healthz')).status).toBe(200);
    const ready = await getJson(api.baseUrl, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: { status: 'ok' }, storage: { status: 'ok' } });
  });
});
