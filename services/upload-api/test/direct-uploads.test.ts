import { randomUUID } from 'node:crypto';
import { PipelineError } from '@video-pipeline/errors';
import { INSPECT_RANGE_BYTES } from '@video-pipeline/storage';
import { startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { expectNothingLeft, sha256, storedSha256, videoLike } from '../../../test/support/upload-fixtures';

const MiB = 1024 * 1024;
const KEY = 'direct-key-erin';
const OTHER_KEY = 'direct-key-frank';

describe('direct uploads to storage', () => {
  const config = testConfig(uniquePrefix('direct'), { S3_BUCKET: `direct-${Date.now().toString(36)}`, QUOTA_STORED_BYTES: String(64 * MiB) });
  const owners = [`erin-${randomUUID().slice(0, 8)}`, `frank-${randomUUID().slice(0, 8)}`];
  let api: RunningApi;

  beforeAll(async () => {
    api = await startUploadApi(config, { apiKeys: new Map([[KEY, owners[0]!], [OTHER_KEY, owners[1]!]]) });
  });
  afterAll(async () => {
    for (const video of await api.prisma.video.findMany({ where: { bucket: config.storage.bucket } })) await api.removeVideo({ id: video.id, object: { key: video.objectKey } });
    await api?.close();
  });

  async function call(method: string, path: string, body?: unknown, apiKey = KEY, headers: Record<string, string> = {}) {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json().catch(() => undefined)) as any };
  }

  /** PUTs parts straight to storage through their presigned URLs, all at once, and returns their ETags. */
  async function sendParts(start: any, bytes: Buffer, which: number[]) {
    return Promise.all(
      which.map(async (partNumber) => {
        const part = start.parts[partNumber - 1];
        const offset = (partNumber - 1) * start.partSizeBytes;
        const response = await fetch(part.url, { method: 'PUT', body: bytes.subarray(offset, offset + part.sizeBytes) });
        expect(response.status).toBe(200);
        return { partNumber, etag: response.headers.get('etag')! };
      }),
    );
  }

  it('parts sent in parallel and out of order complete into the file, once', async () => {
    const bytes = await videoLike(12 * MiB + 777);
    // More than one range of the completion's read-back, so its hash is over ranges read in parallel.
    expect(bytes.length).toBeGreaterThan(INSPECT_RANGE_BYTES);
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: bytes.length, partSizeBytes: 5 * MiB, title: 'Direct' });
    expect(start.status).toBe(201);
    expect(start.body.parts.map((part: any) => part.sizeBytes)).toEqual([5 * MiB, 5 * MiB, 2 * MiB + 777]);
    expect(new URL(start.body.parts[0].url).origin).toBe(new URL(config.uploads.publicS3Endpoint).origin);

    const parts = await sendParts(start.body, bytes, [3, 1, 2]);
    const done = await call('POST', start.body.completeUrl, { parts });
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ title: 'Direct', object: { sizeBytes: bytes.length, sha256: sha256(bytes), contentType: 'video/mp4' } });
    expect(done.headers.get('location')).toBe(`/v1/videos/${done.body.id}`);
    expect(await storedSha256(api, done.body.object.key)).toBe(sha256(bytes));
    expect(await api.prisma.outboxEvent.count({ where: { key: done.body.id, type: 'video.uploaded' } })).toBe(1);

    // Sent again (its answer was lost): the same video, nothing new.
    const again = await call('POST', start.body.completeUrl, { parts });
    expect([again.status, again.body.id]).toEqual([201, done.body.id]);
    expect(await api.prisma.outboxEvent.count({ where: { key: done.body.id } })).toBe(1);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
    await api.removeVideo(done.body);
  });

  it('two completions at once (no Idempotency-Key) make one video, and both answer it', async () => {
    const bytes = await videoLike(12 * MiB + 321);
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: bytes.length, partSizeBytes: 5 * MiB });
    const parts = await sendParts(start.body, bytes, [1, 2, 3]);
    // The steps of the race that lost the video: both completions find no object yet; the first completes it and
    // reads it back; only then does the second list the parts (gone with the multipart upload). Each wait is
    // bounded: completions that take turns never reach the next step, and go on after it.
    const { storage } = api;
    const [objectExists, listParts, inspectVideo] = [storage.objectExists.bind(storage), storage.listParts.bind(storage), storage.inspectVideo.bind(storage)];
    const step = () => {
      let reached!: () => void;
      const promise = new Promise<void>((resolve) => (reached = resolve));
      return { reached, promise, orAfter: (ms: number) => Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms))]) };
    };
    const bothChecked = step();
    const firstReading = step();
    let checks = 0;
    let lists = 0;
    const spies = [
      jest.spyOn(storage, 'objectExists').mockImplementation(async (key) => {
        const exists = await objectExists(key);
        if (++checks === 2) bothChecked.reached();
        return exists;
      }),
      jest.spyOn(storage, 'listParts').mockImplementation(async (key, uploadId) => {
        await ((++lists === 1 ? bothChecked : firstReading).orAfter(2_000));
        return listParts(key, uploadId);
      }),
      jest.spyOn(storage, 'inspectVideo').mockImplementation(async (key) => {
        firstReading.reached();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        return inspectVideo(key);
      }),
    ];
    const answers = await Promise.all([call('POST', start.body.completeUrl, { parts }), call('POST', start.body.completeUrl, { parts })]).finally(() => {
      for (const spy of spies) spy.mockRestore();
    });

    expect(answers.map((answer) => answer.status)).toEqual([201, 201]);
    expect(answers[1]!.body.id).toBe(answers[0]!.body.id);
    expect(answers[0]!.body.object).toMatchObject({ sizeBytes: bytes.length, sha256: sha256(bytes) });
    expect(await storedSha256(api, answers[0]!.body.object.key)).toBe(sha256(bytes));
    expect(await api.prisma.video.count({ where: { id: start.body.id } })).toBe(1);
    expect(await api.prisma.outboxEvent.count({ where: { key: start.body.id, type: 'video.uploaded' } })).toBe(1);
    expect(await api.prisma.pendingUpload.count({ where: { id: start.body.id } })).toBe(0);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
    await api.removeVideo(answers[0]!.body);
  });

  it('a cancel sent while a completion runs waits for it, and finds the upload finished: the video keeps its object', async () => {
    const bytes = await videoLike(6 * MiB);
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: bytes.length, partSizeBytes: 5 * MiB });
    const parts = await sendParts(start.body, bytes, [1, 2]);
    const inspectVideo = api.storage.inspectVideo.bind(api.storage);
    let reading!: () => void;
    const completionReading = new Promise<void>((resolve) => (reading = resolve));
    const spy = jest.spyOn(api.storage, 'inspectVideo').mockImplementation(async (key) => {
      reading();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return inspectVideo(key);
    });
    const completion = call('POST', start.body.completeUrl, { parts });
    await completionReading;
    const cancel = await call('DELETE', `/v1/uploads/direct/${start.body.id}`);
    const done = await completion.finally(() => spy.mockRestore());

    expect([done.status, cancel.status, cancel.body.error.code]).toEqual([201, 404, 'not_found']);
    expect(await storedSha256(api, done.body.object.key)).toBe(sha256(bytes));
    await api.removeVideo(done.body);
  });

  it('a completion whose read-back failed (storage out of reach) completes when sent again', async () => {
    const bytes = await videoLike(6 * MiB);
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: bytes.length, partSizeBytes: 5 * MiB });
    const parts = await sendParts(start.body, bytes, [1, 2]);
    // Storage completes the object, then fails the read-back once.
    const inspectVideo = api.storage.inspectVideo;
    api.storage.inspectVideo = async () => {
      api.storage.inspectVideo = inspectVideo;
      throw new PipelineError('storage_unavailable', 'could not read from storage: connect ECONNREFUSED');
    };
    const failed = await call('POST', start.body.completeUrl, { parts });
    expect([failed.status, failed.body.error.code]).toEqual([503, 'storage_unavailable']);

    const again = await call('POST', start.body.completeUrl, { parts });
    expect([again.status, again.body.object?.sha256]).toEqual([201, sha256(bytes)]);
    expect(await storedSha256(api, again.body.object.key)).toBe(sha256(bytes));
    await api.removeVideo(again.body);
  });

  it.each([
    ['a missing part', [1, 3], (parts: any[]) => parts, { missing: [2] }],
    ['a part listed with another ETag', [1, 2, 3], (parts: any[]) => parts.map((part) => (part.partNumber === 2 ? { ...part, etag: '"0123456789abcdef0123456789abcdef"' } : part)), { wrongEtag: [2] }],
  ])('%s is refused and leaves nothing', async (_name, send, edit, details) => {
    const bytes = await videoLike(11 * MiB);
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: bytes.length, partSizeBytes: 5 * MiB });
    const parts = edit(await sendParts(start.body, bytes, send));
    const refused = await call('POST', start.body.completeUrl, { parts });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'upload_incomplete']);
    expect(refused.body.error.details).toEqual(details);
    await expectNothingLeft(api, config, owners);
  });

  it('a part of the wrong size is refused and leaves nothing', async () => {
    const bytes = await videoLike(11 * MiB);
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: bytes.length, partSizeBytes: 5 * MiB });
    const parts = await sendParts(start.body, bytes, [1, 2]);
    const short = await fetch(start.body.parts[2].url, { method: 'PUT', body: bytes.subarray(10 * MiB, 10 * MiB + 100) });
    parts.push({ partNumber: 3, etag: short.headers.get('etag')! });
    const refused = await call('POST', start.body.completeUrl, { parts });
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([400, 'upload_incomplete', { wrongSize: [3] }]);
    await expectNothingLeft(api, config, owners);
  });

  it('a file that is not a video is refused at completion and leaves nothing', async () => {
    const text = Buffer.from('not a video\n'.repeat(1000));
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: text.length });
    const refused = await call('POST', start.body.completeUrl, { parts: await sendParts(start.body, text, [1]) });
    expect([refused.status, refused.body.error.code]).toEqual([415, 'unsupported_media_type']);
    await expectNothingLeft(api, config, owners);
  });

  it('another owner cannot complete or abort it; its owner aborts it and nothing is left', async () => {
    const start = await call('POST', '/v1/uploads/direct', { sizeBytes: 6 * MiB });
    expect((await call('POST', start.body.completeUrl, { parts: [{ partNumber: 1, etag: 'x' }] }, OTHER_KEY)).status).toBe(404);
    expect((await call('DELETE', `/v1/uploads/direct/${start.body.id}`, undefined, OTHER_KEY)).status).toBe(404);
    expect(await api.storage.listOpenMultipartUploads()).toHaveLength(1);
    expect((await call('DELETE', `/v1/uploads/direct/${start.body.id}`)).status).toBe(204);
    await expectNothingLeft(api, config, owners);
  });

  it('a size over the quota is refused before anything starts', async () => {
    const refused = await call('POST', '/v1/uploads/direct', { sizeBytes: 65 * MiB });
    expect([refused.status, refused.body.error.code]).toEqual([413, 'storage_quota_exceeded']);
    await expectNothingLeft(api, config, owners);
  });
});
