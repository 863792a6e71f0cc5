import { Upload as TusUpload, type HttpRequest, type HttpResponse } from 'tus-js-client';
import { API_KEY, OTHER_API_KEY, eventually, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { expectNothingLeft, seededRandom, sha256, storedSha256, videoLike } from '../../../test/support/upload-fixtures';

const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
const MiB = 1024 * 1024;

/** tus-js-client from Node, with our API key, resolving with the final response (or failing with the error). */
function tusUpload(
  baseUrl: string,
  bytes: Buffer,
  options: { apiKey?: string; title?: string; chunkSize?: number; interruptAt?: number[] } = {},
): Promise<{ url: string; last: HttpResponse; interruptions: number }> {
  return new Promise((resolve, reject) => {
    const pending = [...(options.interruptAt ?? [])].sort((a, b) => a - b);
    let interruptions = 0;
    let resuming = false;
    const upload: TusUpload = new TusUpload(bytes, {
      endpoint: `${baseUrl}/v1/uploads`,
      headers: { authorization: `Bearer ${options.apiKey ?? API_KEY}` },
      metadata: options.title ? { title: options.title, filename: 'clip.mp4' } : { filename: 'clip.mp4' },
      chunkSize: options.chunkSize ?? 8 * MiB,
      retryDelays: [0, 300, 1000],
      onProgress: (sent) => {
        // An interruption: the request in flight is cut at a random offset, then the upload resumes (HEAD, then PATCH from the server's offset).
        // Once the upload exists (its URL known): cut before it, and the client starts a new upload instead of resuming.
        if (!resuming && upload.url && pending.length && sent >= pending[0]!) {
          pending.shift();
          resuming = true;
          interruptions += 1;
          void upload.abort(false).then(() =>
            setTimeout(() => {
              resuming = false;
              upload.start();
            }, 50),
          );
        }
      },
      onAfterResponse: (req, res) => { if (process.env.TUS_DEBUG) console.log(req.getMethod(), req.getHeader("Upload-Offset"), "->", res.getStatus(), res.getHeader("Upload-Offset")); },
      onSuccess: (payload) => resolve({ url: upload.url ?? '', last: payload.lastResponse, interruptions }),
      onError: reject,
    });
    upload.start();
  });
}

async function tusRequest(url: string, method: string, apiKey: string | undefined, headers: Record<string, string> = {}, body?: Buffer) {
  return fetch(url, {
    method,
    headers: { 'tus-resumable': '1.0.0', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...headers },
    body,
  });
}

describe('resumable uploads (tus)', () => {
  const config = testConfig(uniquePrefix('tus'), { S3_BUCKET: `tus-${Date.now().toString(36)}`, QUOTA_STORED_BYTES: String(40 * MiB) });
  // The interrupted upload has a bucket of its own: requests its client cut off may still be storing after it ends.
  const interruptedConfig = testConfig(uniquePrefix('tus-cut'), { S3_BUCKET: `tus-cut-${Date.now().toString(36)}` });
  const suffix = Date.now().toString(36);
  const owners = [`tus-alice-${suffix}`, `tus-bob-${suffix}`];
  let api: RunningApi;
  let cutApi: RunningApi;

  beforeAll(async () => {
    // Owners of their own: no other test's videos count against this test's quota.
    api = await startUploadApi(config, { maxUploadBytes: MAX_UPLOAD_BYTES, apiKeys: new Map([[API_KEY, owners[0]!], [OTHER_API_KEY, owners[1]!]]) });
    cutApi = await startUploadApi(interruptedConfig, { maxUploadBytes: MAX_UPLOAD_BYTES });
  });
  afterAll(async () => {
    await api?.close();
    await cutApi?.close();
  });

  it('OPTIONS announces the protocol, its extensions and the largest upload, without a key', async () => {
    const response = await fetch(`${api.baseUrl}/v1/uploads`, { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('tus-version')).toBe('1.0.0');
    const extensions = response.headers.get('tus-extension')!.split(',');
    expect(extensions).toEqual(expect.arrayContaining(['creation', 'creation-with-upload', 'expiration', 'termination']));
    expect(response.headers.get('tus-max-size')).toBe(String(MAX_UPLOAD_BYTES));
  });

  it('an upload interrupted at random offsets resumes into an identical object, one video and one event', async () => {
    const seed = Date.now() % 100_000;
    const random = seededRandom(seed);
    const bytes = await videoLike(13 * MiB + 12345);
    const interruptAt = [0, 1, 2].map(() => Math.floor((0.05 + random() * 0.9) * bytes.length));
    const { url, last, interruptions } = await tusUpload(cutApi.baseUrl, bytes, { title: 'On a train', chunkSize: 4 * MiB, interruptAt });
    expect({ seed, interruptions }).toEqual({ seed, interruptions: 3 });

    const videoId = last.getHeader('video-id')!;
    expect(videoId).toMatch(/^[0-9a-f-]{36}$/);
    expect(last.getHeader('video-url')).toBe(`/v1/videos/${videoId}`);
    expect(url).toBe(`${cutApi.baseUrl}/v1/uploads/${videoId}`);

    const video = await cutApi.prisma.video.findUniqueOrThrow({ where: { id: videoId } });
    expect(video).toMatchObject({ ownerId: 'alice', title: 'On a train', sizeBytes: BigInt(bytes.length), sha256: sha256(bytes), contentType: 'video/mp4' });
    expect(await storedSha256(cutApi, video.objectKey)).toBe(sha256(bytes));
    expect(await cutApi.prisma.outboxEvent.count({ where: { key: videoId, type: 'video.uploaded' } })).toBe(1);
    expect(await cutApi.prisma.pendingUpload.count({ where: { id: videoId } })).toBe(0);

    // The answer to the last request is lost: the client asks where it stands, and learns the video.
    const head = await tusRequest(url, 'HEAD', API_KEY);
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe(String(bytes.length));
    expect(head.headers.get('video-id')).toBe(videoId);
    // Or it sends its final request again: answered as finished, with the same video, and nothing new is made.
    const retried = await tusRequest(url, 'PATCH', API_KEY, { 'upload-offset': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, Buffer.alloc(0));
    expect(retried.status).toBe(204);
    expect(retried.headers.get('video-id')).toBe(videoId);
    expect(await cutApi.prisma.video.count({ where: { ownerId: 'alice', bucket: interruptedConfig.storage.bucket } })).toBe(1);
    expect(await cutApi.prisma.outboxEvent.count({ where: { key: videoId } })).toBe(1);
    // A finished upload cannot be terminated: the video's original stays.
    expect((await tusRequest(url, 'DELETE', API_KEY)).status).toBe(400);
    expect(await cutApi.storage.objectExists(video.objectKey)).toBe(true);
    await cutApi.removeVideo({ id: videoId, object: { key: video.objectKey } });
    // A request cut off by the client may still be storing what it had received (s3-store goes on after the
    // request is aborted): wait until the folder is quiet, then remove it with the video.
    let before = '';
    await eventually(async () => {
      const now = JSON.stringify(await cutApi.storage.listKeys(`videos/${videoId}/`));
      const quiet = now === before;
      before = now;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return quiet;
    }, 30_000, 'the upload folder to be quiet');
    await cutApi.storage.deletePrefix(`videos/${videoId}/`);
  });

  it('a creation that carries the whole file answers 201 Created, with the upload and its video', async () => {
    const bytes = await videoLike(256 * 1024);
    const created = await tusRequest(`${api.baseUrl}/v1/uploads`, 'POST', API_KEY, { 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, bytes);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(/^\/v1\/uploads\/[0-9a-f-]{36}$/);
    expect(created.headers.get('upload-offset')).toBe(String(bytes.length));
    const videoId = created.headers.get('video-id')!;
    expect(created.headers.get('video-url')).toBe(`/v1/videos/${videoId}`);
    const video = await fetch(`${api.baseUrl}/v1/videos/${videoId}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(((await video.json()) as { object: { sha256: string } }).object.sha256).toBe(sha256(bytes));
    // The store's notes (.info) go once the answer is out: only the video's original stays.
    await eventually(async () => {
      const keys = await api.storage.listKeys(`videos/${videoId}/`);
      return keys.length === 1 && keys[0] === `videos/${videoId}/original` ? keys : undefined;
    }, 10_000, 'the upload’s notes to be removed');
    await api.removeVideo({ id: videoId, object: { key: `videos/${videoId}/original` } });
  });

  it("another owner's HEAD, PATCH and DELETE get 404, and the upload stays intact", async () => {
    const bytes = await videoLike(64 * 1024);
    const created = await tusRequest(`${api.baseUrl}/v1/uploads`, 'POST', API_KEY, { 'upload-length': String(bytes.length) });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, api.baseUrl).toString();

    for (const [method, headers, body] of [
      ['HEAD', {}, undefined],
      ['PATCH', { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, bytes],
      ['DELETE', {}, undefined],
    ] as const) {
      const response = await tusRequest(url, method, OTHER_API_KEY, headers, body);
      expect({ method, status: response.status }).toEqual({ method, status: 404 });
      if (method !== 'HEAD') expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    expect((await tusRequest(url, 'HEAD', undefined)).status).toBe(401);

    const head = await tusRequest(url, 'HEAD', API_KEY);
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe('0');
    // Its owner terminates it: nothing is left.
    expect((await tusRequest(url, 'DELETE', API_KEY)).status).toBe(204);
    await expectNothingLeft(api, config, owners);
    expect((await tusRequest(url, 'HEAD', API_KEY)).status).toBe(404);
  });

  it('a text file is refused after its first chunk, with the simple upload’s code, and leaves nothing', async () => {
    const text = Buffer.from('this is not a video, just words\n'.repeat(400_000));
    const failure = await tusUpload(api.baseUrl, text, { chunkSize: 1 * MiB }).then(
      () => undefined,
      (error: { originalResponse?: HttpResponse; originalRequest?: HttpRequest }) => error,
    );
    expect(failure?.originalResponse?.getStatus()).toBe(415);
    expect(JSON.parse(failure!.originalResponse!.getBody()).error.code).toBe('unsupported_media_type');
    await expectNothingLeft(api, config, owners);
  });

  it('a declared length over the upload limit is refused with the simple upload’s code', async () => {
    const response = await tusRequest(`${api.baseUrl}/v1/uploads`, 'POST', API_KEY, { 'upload-length': String(MAX_UPLOAD_BYTES + 1) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: unknown }).error).toMatchObject({
      code: 'file_too_large',
      message: `an upload is at most ${MAX_UPLOAD_BYTES} bytes`,
      details: { maxBytes: MAX_UPLOAD_BYTES },
    });
    await expectNothingLeft(api, config, owners);
  });

  it('a declared length over the quota is refused before any byte, and leaves nothing', async () => {
    const response = await tusRequest(`${api.baseUrl}/v1/uploads`, 'POST', API_KEY, { 'upload-length': String(41 * MiB) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('storage_quota_exceeded');
    await expectNothingLeft(api, config, owners);
  });
});
