import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeVideo } from '../../../test/support/fixtures';
import { startHttpClients, type ClientKind, type ClientResult, type HttpClients } from '../../../test/support/http-clients';
import { API_KEY, eventually, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

const MiB = 1024 * 1024;
const MAX_UPLOAD_BYTES = 8 * MiB;
const BOUNDARY = 'every-client-boundary';
const SIZES = { 'a few bytes': 20, '200 kB': 200_000, '3 MB': 3_000_000, '12 MB': 12_000_000 } as const;
type Size = keyof typeof SIZES;

/**
 * Refusals are answered before the body is read; every common client must
 * still read the answer, whatever the body's size. The clients run in a
 * process of their own, as they would on another machine.
 */
describe('every client gets its answer', () => {
  const config = testConfig(uniquePrefix('answers'), { S3_BUCKET: `answers-${Date.now().toString(36)}` });
  let api: RunningApi;
  let clients: HttpClients;
  let dir: string;
  let videoHead: Buffer;

  beforeAll(async () => {
    [api, dir, videoHead] = await Promise.all([
      startUploadApi(config, { maxUploadBytes: MAX_UPLOAD_BYTES }),
      fs.mkdtemp(path.join(os.tmpdir(), 'every-client-')),
      makeVideo({ seconds: 1 }).then(async (file) => (await fs.readFile(file)).subarray(0, 4096)),
    ]);
    clients = startHttpClients();
  });
  afterAll(async () => {
    await clients?.stop();
    await api?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  let files = 0;
  async function bodyFile(bytes: Buffer): Promise<string> {
    const file = path.join(dir, `body-${files++}`);
    await fs.writeFile(file, bytes);
    return file;
  }
  const multipart = (file: Buffer) =>
    Buffer.concat([
      Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="clip.mp4"\r\ncontent-type: video/mp4\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ]);
  /** A real MP4 head and noise: a video as far as the sniffer can tell. */
  const videoLike = (size: number) => Buffer.concat([videoHead, randomBytes(Math.max(0, size - videoHead.length))]).subarray(0, Math.max(size, 1));
  const multipartType = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
  const withKey = { authorization: `Bearer ${API_KEY}` };

  /** Each refusal's headers, and its body: a form with `file` in it, or other `bytes`. */
  const refusals = {
    'no API key': { status: 401, code: 'unauthorized', headers: multipartType, file: videoLike },
    'a body that is not multipart': { status: 415, code: 'not_multipart', headers: { ...withKey, 'content-type': 'application/json' }, bytes: (size: number) => Buffer.alloc(size, 'x') },
    'a file that is not a video': { status: 415, code: 'unsupported_media_type', headers: { ...withKey, ...multipartType }, file: (size: number) => randomBytes(size) },
    'a declared size over the limit': { status: 413, code: 'file_too_large', headers: { ...withKey, ...multipartType }, file: videoLike },
  } satisfies Record<string, { status: number; code: string; headers: Record<string, string>; file?: (size: number) => Buffer; bytes?: (size: number) => Buffer }>;
  type Refusal = keyof typeof refusals;

  const cases: [Refusal, Size, ClientKind][] = [];
  for (const client of ['fetch', 'curl', 'socket'] as const) {
    for (const size of Object.keys(SIZES) as Size[]) {
      // Within the limit, a file is judged by its bytes; past it, by its declared size first.
      if (SIZES[size] <= MAX_UPLOAD_BYTES) cases.push(['no API key', size, client], ['a body that is not multipart', size, client], ['a file that is not a video', size, client]);
      else cases.push(['no API key', size, client], ['a body that is not multipart', size, client], ['a declared size over the limit', size, client]);
    }
  }

  function expectAnswer(result: ClientResult, status: number, code: string): void {
    expect({ status: result.status, error: result.error }).toEqual({ status, error: undefined });
    const body = JSON.parse(result.body!) as { error: { code: string }; requestId: string };
    expect(body.error.code).toBe(code);
    expect(body.requestId).toBe(result.headers!['x-request-id']);
  }

  /** A lost answer is a race the client can win, so each case is sent a few times. */
  const ATTEMPTS = 5;

  it.each(cases)('%s, %s, through %s', async (refusal, size, client) => {
    const { status, code, headers, ...body } = refusals[refusal];
    const job = { client, url: `${api.baseUrl}/v1/videos`, method: 'POST', headers };
    if ('file' in body) {
      const file = body.file(SIZES[size]);
      Object.assign(job, { bodyFile: await bodyFile(multipart(file)), form: { field: 'file', file: await bodyFile(file) } });
    } else {
      Object.assign(job, { bodyFile: await bodyFile(body.bytes(SIZES[size])) });
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) expectAnswer(await clients.send(job), status, code);
  });

  it('leaves nothing behind after all those refusals, and still serves', async () => {
    expect(await api.storage.listKeys()).toEqual([]);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
    expect(await api.prisma.video.count({ where: { bucket: config.storage.bucket } })).toBe(0);
    expect((await fetch(`${api.baseUrl}/healthz`)).status).toBe(200);
  });

  it('keeps the connection usable after a refusal whose body was sent whole', async () => {
    const result = await clients.send({
      client: 'socket',
      url: api.baseUrl,
      method: 'POST',
      headers: {},
      exchanges: [
        { method: 'POST', path: '/v1/videos', headers: multipartType, bodyFile: await bodyFile(multipart(videoLike(3_000_000))) },
        { method: 'GET', path: '/healthz', headers: {} },
      ],
    });
    expectAnswer(result, 401, 'unauthorized');
    expect(result.more?.map((answer) => [answer.status, answer.body])).toEqual([[200, '{"status":"ok"}']]);
    expect(result.connection).toEqual({ closedByServer: false });
  });

  describe('Expect: 100-continue', () => {
    it('refuses without asking for the body, and closes the connection', async () => {
      const result = await clients.send({
        client: 'socket',
        url: `${api.baseUrl}/v1/videos`,
        method: 'POST',
        headers: { ...multipartType, expect: '100-continue' },
        bodyFile: await bodyFile(multipart(videoLike(3_000_000))),
        awaitClose: true,
      });
      expectAnswer(result, 401, 'unauthorized');
      expect(result.interim).toEqual([]);
      expect(result.headers!.connection).toBe('close');
      expect(result.connection!.closedByServer).toBe(true);
    });

    it('asks for the body of an upload it will take, and stores it', async () => {
      const video = await fs.readFile(await makeVideo({ seconds: 1 }));
      const result = await clients.send({
        client: 'socket',
        url: `${api.baseUrl}/v1/videos`,
        method: 'POST',
        headers: { ...withKey, ...multipartType, expect: '100-continue' },
        bodyFile: await bodyFile(multipart(video)),
      });
      expect(result.interim).toEqual([100]);
      expect(result.status).toBe(201);
      const stored = JSON.parse(result.body!) as { id: string; object: { key: string; sizeBytes: number } };
      expect(stored.object.sizeBytes).toBe(video.length);
      await api.removeVideo(stored);
    });
  });

  describe('a client that half-closes its socket', () => {
    it('after a whole upload gets its 201, and one video results', async () => {
      const video = await fs.readFile(await makeVideo({ seconds: 1 }));
      const result = await clients.send({
        client: 'socket',
        url: `${api.baseUrl}/v1/videos`,
        method: 'POST',
        headers: { ...withKey, ...multipartType },
        bodyFile: await bodyFile(multipart(video)),
        halfClose: true,
        awaitClose: true,
      });
      expect({ status: result.status, error: result.error }).toEqual({ status: 201, error: undefined });
      const stored = JSON.parse(result.body!) as { id: string; object: { key: string; sizeBytes: number } };
      expect(stored.object.sizeBytes).toBe(video.length);
      // The server ends the connection once it has answered: the client will send nothing more.
      expect(result.connection!.closedByServer).toBe(true);
      expect(await api.prisma.video.count({ where: { bucket: config.storage.bucket } })).toBe(1);
      expect(await api.prisma.outboxEvent.count({ where: { key: stored.id } })).toBe(1);
      expect(await api.storage.listKeys()).toEqual([stored.object.key]);
      await api.removeVideo(stored);
    });

    it('before its body ends leaves nothing behind, even when the form inside looked complete', async () => {
      const body = multipart(videoLike(3_000_000));
      const result = await clients.send({
        client: 'socket',
        url: `${api.baseUrl}/v1/videos`,
        method: 'POST',
        // Declares more than it sends: the request ends (FIN) before its body, after a whole multipart form.
        headers: { ...withKey, ...multipartType, 'content-length': String(body.length + 1_000_000) },
        bodyFile: await bodyFile(body),
        halfClose: true,
        awaitClose: true,
      });
      expect(result.status).not.toBe(201);
      await eventually(async () => (await api.storage.listOpenMultipartUploads()).length === 0 && (await api.storage.listKeys()).length === 0, 10_000, 'the partial upload to be removed');
      expect(await api.prisma.video.count({ where: { bucket: config.storage.bucket } })).toBe(0);
    });
  });

  describe('past the discard limits', () => {
    let strict: RunningApi;
    beforeAll(async () => {
      strict = await startUploadApi(config, { maxUploadBytes: MAX_UPLOAD_BYTES, discardLimits: { bytes: 1 * MiB, ms: 1_000 } });
    });
    afterAll(async () => {
      await strict?.close();
    });

    it('cuts a client that goes on sending more than the byte limit', async () => {
      const result = await clients.send({
        client: 'socket',
        url: `${strict.baseUrl}/v1/videos`,
        method: 'POST',
        headers: multipartType,
        bodyFile: await bodyFile(multipart(videoLike(12_000_000))),
        awaitClose: true,
      });
      expect(result.connection!.closedByServer).toBe(true);
      expect((await fetch(`${strict.baseUrl}/healthz`)).status).toBe(200);
    });

    it('cuts a client that stops sending before its body ends, after the time limit', async () => {
      const started = Date.now();
      const result = await clients.send({
        client: 'socket',
        url: `${strict.baseUrl}/v1/videos`,
        method: 'POST',
        headers: { ...multipartType, 'content-length': '5000000' },
        bodyFile: await bodyFile(multipart(videoLike(1000))),
        awaitClose: true,
      });
      expectAnswer(result, 401, 'unauthorized');
      expect(result.connection!.closedByServer).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    });
  });
});
