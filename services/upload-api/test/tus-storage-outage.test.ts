import { Writable } from 'node:stream';
import { Upload as TusUpload } from 'tus-js-client';
import { createLogger } from '@video-pipeline/logging';
import { TcpProxy } from '../../../test/support/network';
import { API_KEY, eventually, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { uploadFile } from '../../../test/support/upload-client';
import { sha256, storedSha256, videoLike } from '../../../test/support/upload-fixtures';

const KiB = 1024;

/**
 * Storage out of reach during tus requests: each is answered as `POST
 * /v1/videos` answers the same outage (503 `storage_unavailable`, our JSON
 * error body), logged once, and leaves nothing a retry would trip over.
 * Storage is reached through a proxy the tests take down.
 */
describe('tus while storage is out of reach', () => {
  const base = testConfig(uniquePrefix('tus-outage'), { S3_BUCKET: `tus-outage-${Date.now().toString(36)}` });
  const s3 = new URL(base.storage.endpoint);
  const proxy = new TcpProxy({ host: s3.hostname, port: Number(s3.port) });
  const config = { ...base, storage: { ...base.storage, endpoint: '' } };
  const owner = `tus-outage-${Date.now().toString(36)}`;
  const lines: Record<string, unknown>[] = [];
  let api: RunningApi;
  /** Lines logged since the API started. */
  let linesAtStart = 0;

  beforeAll(async () => {
    await proxy.up();
    config.storage.endpoint = `http://127.0.0.1:${proxy.port}`;
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    api = await startUploadApi(config, { logger: createLogger('upload-api', { level: 'debug', destination }), apiKeys: new Map([[API_KEY, owner]]) });
    linesAtStart = lines.length;
  });
  afterEach(() => {
    // Each failure is logged once, on its request's line: nothing else (the storage client's own messages) at warn or error.
    expect(lines.slice(linesAtStart).filter((line) => ['warn', 'error'].includes(line.level as string) && !line.reqId)).toEqual([]);
  });
  afterAll(async () => {
    await api?.close();
    await proxy.down();
  });

  const tus = (path: string, method: string, headers: Record<string, string> = {}, body?: Buffer) =>
    fetch(new URL(path, api.baseUrl), { method, headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, ...headers }, body });
  const patchHeaders = (offset: number) => ({ 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' });
  let storageUp = true;
  const setStorage = async (up: boolean) => {
    if (up === storageUp) return;
    storageUp = up;
    await (up ? proxy.up() : proxy.down());
  };
  const whileStorageIsDown = async <T>(work: () => Promise<T>): Promise<T> => {
    await setStorage(false);
    try {
      return await work();
    } finally {
      await setStorage(true);
    }
  };
  const pendingRows = () => api.prisma.pendingUpload.count({ where: { ownerId: owner } });

  /** The answer `POST /v1/videos` gives, and the request's one log line: at error, with the code and the storage's failure. */
  const expectStorageUnavailable = async (response: Response, { hasBody = true } = {}) => {
    expect(response.status).toBe(503);
    // As the simple upload answers the same outage (first test): no Retry-After; tus-js-client retries a 5xx on its own schedule.
    expect(response.headers.get('retry-after')).toBeNull();
    const requestId = response.headers.get('x-request-id')!;
    if (hasBody) {
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ error: { code: 'storage_unavailable', message: expect.any(String) }, requestId });
    }
    const logged = await eventually(async () => lines.filter((line) => line.reqId === requestId).length > 0 && lines.filter((line) => line.reqId === requestId), 5_000, 'the request log line');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'error', msg: expect.stringMatching(/ 503$/), code: 'storage_unavailable', err: { message: expect.any(String), stack: expect.any(String) } });
  };

  it('POST /v1/videos, the reference: 503 storage_unavailable', async () => {
    const response = await whileStorageIsDown(async () => uploadFile(api.baseUrl, API_KEY, { file: { bytes: await videoLike(64 * KiB) } }));
    expect([response.status, response.body.error.code, response.headers.get('retry-after')]).toEqual([503, 'storage_unavailable', null]);
  });

  it('a creation: 503 storage_unavailable, and the upload it reserved is gone', async () => {
    const response = await whileStorageIsDown(() => tus('/v1/uploads', 'POST', { 'upload-length': String(64 * KiB) }));
    await expectStorageUnavailable(response);
    expect(response.headers.get('location')).toBeNull();
    expect(await pendingRows()).toBe(0);
    expect(await api.storage.listKeys()).toEqual([]);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
  });

  it('a creation with its bytes: the same', async () => {
    const bytes = await videoLike(64 * KiB);
    const response = await whileStorageIsDown(() => tus('/v1/uploads', 'POST', { 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, bytes));
    await expectStorageUnavailable(response);
    expect(await pendingRows()).toBe(0);
    expect(await api.storage.listKeys()).toEqual([]);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
  });

  it('HEAD, PATCH and DELETE of an upload under way: 503 storage_unavailable; the upload is kept and goes on once storage is back', async () => {
    const bytes = await videoLike(256 * KiB);
    const created = await tus('/v1/uploads', 'POST', { 'upload-length': String(bytes.length) });
    expect(created.status).toBe(201);
    const url = created.headers.get('location')!;
    expect((await tus(url, 'PATCH', patchHeaders(100 * KiB), bytes.subarray(0, 100 * KiB))).status).toBe(409);
    expect((await tus(url, 'PATCH', patchHeaders(0), bytes.subarray(0, 100 * KiB))).status).toBe(204);

    await whileStorageIsDown(async () => {
      await expectStorageUnavailable(await tus(url, 'HEAD'), { hasBody: false });
      await expectStorageUnavailable(await tus(url, 'PATCH', patchHeaders(100 * KiB), bytes.subarray(100 * KiB)));
      await expectStorageUnavailable(await tus(url, 'DELETE'));
    });

    expect(await pendingRows()).toBe(1);
    const head = await tus(url, 'HEAD');
    expect([head.status, head.headers.get('upload-offset')]).toEqual([200, String(100 * KiB)]);
    const last = await tus(url, 'PATCH', patchHeaders(100 * KiB), bytes.subarray(100 * KiB));
    expect(last.status).toBe(204);
    const video = await api.prisma.video.findUniqueOrThrow({ where: { id: last.headers.get('video-id')! } });
    expect(video.sha256).toBe(sha256(bytes));
    expect(await storedSha256(api, video.objectKey)).toBe(sha256(bytes));
    expect(await pendingRows()).toBe(0);
    await api.removeVideo({ id: video.id, object: { key: video.objectKey } });
  });

  it('tus-js-client retries the 503 and finishes once storage is back, leaving one video and no stray upload', async () => {
    const bytes = await videoLike(300 * KiB);
    const statuses: number[] = [];
    await setStorage(false);
    const url = await new Promise<string>((resolve, reject) => {
      const upload: TusUpload = new TusUpload(bytes, {
        endpoint: `${api.baseUrl}/v1/uploads`,
        headers: { authorization: `Bearer ${API_KEY}` },
        metadata: { filename: 'clip.mp4' },
        retryDelays: [100, 300, 1000],
        onAfterResponse: async (_req, res) => {
          statuses.push(res.getStatus());
          if (res.getStatus() === 503) await setStorage(true);
        },
        onSuccess: () => resolve(upload.url!),
        onError: reject,
      });
      upload.start();
    }).finally(() => setStorage(true));

    expect(statuses.slice(0, 2)).toEqual([503, 201]);
    const videoId = url.split('/').pop()!;
    const video = await api.prisma.video.findUniqueOrThrow({ where: { id: videoId } });
    expect(await storedSha256(api, video.objectKey)).toBe(sha256(bytes));
    expect(await pendingRows()).toBe(0);
    expect(await api.storage.listKeys()).toEqual([video.objectKey]);
    await api.removeVideo({ id: video.id, object: { key: video.objectKey } });
  });
});
