import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConsumerGroupRuntime, type WorkerDeps } from '@video-pipeline/consumer';
import { createPrismaClient } from '@video-pipeline/db';
import { createKafka, topicSpecs } from '@video-pipeline/kafka';
import { moderationHandlers } from '../../services/moderation/src/handlers';
import { thumbnailerHandlers } from '../../services/thumbnailer/src/handlers';
import { transcoderHandlers } from '../../services/transcoder/src/handlers';
import { openEventStream } from '../../services/upload-api/test/lifecycle-support';
import { MediaFixtures, aac, h264, testPattern, tone } from '../support/media-fixtures';
import { API_KEY, createTopics, eventually, startRelay, startUploadApi, testLogger, type RunningApi, type RunningRelay } from '../support/pipeline';
import { headersAsStrings, startProbeConsumer } from '../support/probe-consumer';
import { testConfig, uniquePrefix } from '../support/test-env';
import { getJson, uploadFile } from '../support/upload-client';

jest.setTimeout(180_000);

/**
 * The lifecycle through Kafka: the API, the relay and the three groups'
 * real handler maps on the consumer runtime, in-process, on the test stack.
 * An upload becomes ready, its watcher sees it, and `video.ready` reaches
 * consumer teams on Kafka.
 */
describe('an upload becomes ready through Kafka, and consumer teams hear of it', () => {
  const prefix = uniquePrefix('life');
  const tempDir = path.join(os.tmpdir(), `lifecycle-e2e-${Date.now().toString(36)}`);
  const config = testConfig(prefix, { S3_BUCKET: `life-${Date.now().toString(36)}`, MEDIA_TEMP_DIR: tempDir, X264_PRESET: 'superfast', MODERATION_BLOCKLIST: 'spam' });
  const kafka = createKafka(config.kafka, testLogger());
  const prisma = createPrismaClient({ databaseUrl: config.database.url, poolMax: 6 });
  const fixtures = new MediaFixtures();
  let api: RunningApi;
  let relay: RunningRelay;
  let probe: Awaited<ReturnType<typeof startProbeConsumer>>;
  const groups: ConsumerGroupRuntime[] = [];

  beforeAll(async () => {
    await createTopics(kafka, prefix, topicSpecs);
    api = await startUploadApi(config);
    relay = await startRelay(config);
    probe = await startProbeConsumer(kafka, `${prefix}video.ready`, `${prefix}probe`);
    const worker: WorkerDeps = { config, prisma, logger: testLogger() };
    for (const [group, handlers] of [['transcoder', transcoderHandlers(worker)], ['thumbnailer', thumbnailerHandlers(worker)], ['moderation', moderationHandlers(worker)]] as const) {
      const runtime = new ConsumerGroupRuntime({ group, handlers, kafka, prisma, logger: testLogger(), topicPrefix: prefix });
      await runtime.start();
      groups.push(runtime);
    }
  });
  afterAll(async () => {
    await Promise.allSettled(groups.map((group) => group.stop()));
    await probe?.stop();
    await relay?.close();
    await api?.close();
    await prisma.$disconnect();
    await fs.rm(tempDir, { recursive: true, force: true });
    await fixtures.remove();
  });

  it('goes uploaded → processing → ready with every stage, and publishes video.ready once', async () => {
    const file = await fixtures.make('clip.mp4', [...testPattern('640x360', 3), ...tone(3), ...h264, ...aac, '-shortest']);
    const upload = await uploadFile(api.baseUrl, API_KEY, { file: { path: file }, fields: { title: 'Through Kafka' } });
    expect(upload.status).toBe(201);
    const videoId: string = upload.body.id;
    const watcher = openEventStream(`${api.baseUrl}/v1/videos/${videoId}/events`, { authorization: `Bearer ${API_KEY}` });
    // The stream ends with the video's last status. The time limit is cleared once it has: left to run, it kept jest from exiting for 150 s.
    let timeLimit: NodeJS.Timeout | undefined;
    try {
      await Promise.race([watcher.ended, new Promise((_, reject) => (timeLimit = setTimeout(() => reject(new Error('the stream did not end')), 150_000)))]);
    } finally {
      clearTimeout(timeLimit);
    }
    expect(watcher.events.filter((event) => event.event === 'status').map((event) => event.data.status)).toEqual(['uploaded', 'processing', 'ready']);

    const { body: video } = await getJson(api.baseUrl, `/v1/videos/${videoId}`, API_KEY);
    expect(video).toMatchObject({ status: 'ready', stages: { transcode: { status: 'succeeded' }, thumbnails: { status: 'succeeded' }, moderation: { status: 'approved' } } });
    const record = await eventually(async () => probe.received.find((r) => r.message.key?.toString() === videoId), 20_000, 'video.ready on Kafka');
    expect(headersAsStrings(record.message)).toMatchObject({ ce_type: 'video.ready', ce_subject: videoId });
    expect(JSON.parse(record.message.value!.toString())).toMatchObject({ videoId, ownerId: 'alice', title: 'Through Kafka', masterPlaylistKey: `videos/${videoId}/hls/master.m3u8` });
    expect(probe.received.filter((r) => r.message.key?.toString() === videoId)).toHaveLength(1);
  });
});
