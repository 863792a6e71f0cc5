import http from 'node:http';
import { ERRORS } from '@tus/server';
import { Upload as TusUpload } from 'tus-js-client';
import { errorCodes } from '@video-pipeline/errors';
import { tusRefusal } from '../src/uploads/tus-refusals';
import { API_KEY, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { sha256, storedSha256, videoLike } from '../../../test/support/upload-fixtures';

const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
const KiB = 1024;

describe('tus’ own refusals, as our codes', () => {
  const answer = (status: number, body: string, headers: Record<string, string> = {}) => ({ status, body, method: 'PATCH', headers });

  it('keep tus’ status for every refusal tus names, but the lock’s timeout (503 with Retry-After)', () => {
    for (const [name, { status_code, body }] of Object.entries(ERRORS)) {
      const refusal = tusRefusal(answer(status_code, body), MAX_UPLOAD_BYTES);
      const status = name === 'ERR_LOCK_TIMEOUT' ? 503 : status_code;
      expect({ name, status: refusal?.error.status, codeStatus: refusal && errorCodes[refusal.error.code].status }).toEqual({ name, status, codeStatus: status });
    }
  });

  it('bytes past the declared length are upload_length_exceeded; past the largest upload, file_too_large', () => {
    const past = (offset: number, length: number) => tusRefusal(answer(413, ERRORS.ERR_SIZE_EXCEEDED.body, { 'upload-offset': String(offset), 'content-length': String(length) }), MAX_UPLOAD_BYTES)?.error.code;
    expect(past(10, 20)).toBe('upload_length_exceeded');
    expect(past(MAX_UPLOAD_BYTES - 10, 20)).toBe('file_too_large');
  });

  it('a chunked body tus cut off (its "Maximum size exceeded") is upload_length_exceeded when the upload’s length is known; file_too_large past the largest upload', () => {
    const cutOff = (headers: Record<string, string>, uploadLength?: number) =>
      tusRefusal({ ...answer(413, ERRORS.ERR_MAX_SIZE_EXCEEDED.body, { 'upload-offset': '0', ...headers }), uploadLength }, MAX_UPLOAD_BYTES)?.error.code;
    expect(cutOff({}, 10)).toBe('upload_length_exceeded');
    // The length declared in the request itself (a creation with its first bytes, or a deferred length's PATCH).
    expect(cutOff({ 'upload-length': '10' })).toBe('upload_length_exceeded');
    // A deferred length: the limit the body passed is the largest upload's; and a declared length over it.
    expect(cutOff({})).toBe('file_too_large');
    expect(cutOff({ 'upload-length': String(MAX_UPLOAD_BYTES + 1) })).toBe('file_too_large');
  });

  it('leave an answer they do not know as tus gave it', () => {
    expect(tusRefusal(answer(418, 'I am a teapot\n'), MAX_UPLOAD_BYTES)).toBeUndefined();
  });
});

describe('tus’ own refusals on the real endpoint', () => {
  const suffix = Date.now().toString(36);
  const config = testConfig(uniquePrefix('tus-refusals'), { S3_BUCKET: `tus-refusals-${suffix}` });
  // Uploads that expire a second after their creation (the sweeper does not run in tests: they stay, expired).
  const expiringConfig = testConfig(uniquePrefix('tus-expired'), { S3_BUCKET: `tus-expired-${suffix}`, UPLOAD_EXPIRY_HOURS: String(1 / 3600) });
  // An owner of its own: its unfinished uploads are removed at the end, and count against no other test's quotas.
  const owner = `tus-refusals-${suffix}`;
  let api: RunningApi;
  let expiringApi: RunningApi;

  beforeAll(async () => {
    const apiKeys = new Map([[API_KEY, owner]]);
    api = await startUploadApi(config, { maxUploadBytes: MAX_UPLOAD_BYTES, apiKeys });
    expiringApi = await startUploadApi(expiringConfig, { maxUploadBytes: MAX_UPLOAD_BYTES, apiKeys });
  });
  afterAll(async () => {
    await api?.prisma.pendingUpload.deleteMany({ where: { ownerId: owner } });
    for (const running of [api, expiringApi]) {
      await running?.storage.deletePrefix('videos/');
      await running?.close();
    }
  });

  const tus = (base: string, path: string, method: string, headers: Record<string, string> = {}, body?: Buffer) =>
    fetch(new URL(path, base), { method, headers: { authorization: `Bearer ${API_KEY}`, 'tus-resumable': '1.0.0', ...headers }, body });
  const patching = (offset: number) => ({ 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' });
  const create = async (base: string, length: number) => {
    const created = await tus(base, '/v1/uploads', 'POST', { 'upload-length': String(length) });
    expect(created.status).toBe(201);
    return created.headers.get('location')!;
  };

  /** A tus request whose body is sent chunked (no Content-Length), in these chunks; its answer as a fetch Response. */
  const chunked = (path: string, method: string, headers: Record<string, string>, chunks: Buffer[]) =>
    new Promise<Response>((resolve, reject) => {
      const request = http.request(new URL(path, api.baseUrl), {
        method,
        headers: { authorization: `Bearer ${API_KEY}`, 'tus-resumable': '1.0.0', ...headers, 'transfer-encoding': 'chunked' },
      });
      request.on('response', async (response) => {
        const body: Buffer[] = [];
        for await (const chunk of response) body.push(chunk as Buffer);
        // A 204 has no body (a Response refuses one).
        resolve(new Response(response.statusCode === 204 ? null : Buffer.concat(body), { status: response.statusCode, headers: response.headers as Record<string, string> }));
      });
      request.on('error', reject);
      for (const chunk of chunks) request.write(chunk);
      request.end();
    });

  /** tus' status, our JSON body with its code and the request id, and tus' headers. */
  async function expectRefused(response: Response, status: number, code: string, details?: Record<string, unknown>) {
    const body = (await response.json()) as { error: { code: string; message: string; details?: unknown }; requestId: string };
    expect({ status: response.status, code: body.error.code }).toEqual({ status, code });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.error.message).toEqual(expect.any(String));
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
    expect(body.requestId).toEqual(expect.any(String));
    expect(response.headers.get('tus-resumable')).toBe('1.0.0');
    if (details) expect(body.error.details).toEqual(details);
    return body;
  }

  it('a request without Tus-Resumable: 412 tus_version_unsupported, with Tus-Version', async () => {
    const response = await fetch(`${api.baseUrl}/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'upload-length': '10' } });
    await expectRefused(response, 412, 'tus_version_unsupported', { in: 'header', parameter: 'Tus-Resumable' });
    expect(response.headers.get('tus-version')).toBe('1.0.0');
  });

  it('requests our middleware answers without tus check Tus-Resumable as tus does: none is 412, another version 400; nothing changes', async () => {
    const unversioned = (path: string, method: string, headers: Record<string, string> = {}) =>
      fetch(new URL(path, api.baseUrl), { method, headers: { authorization: `Bearer ${API_KEY}`, ...headers } });
    const expectVersionRefused = async (path: string, method: string) => {
      const missing = await unversioned(path, method);
      expect(missing.headers.get('tus-version')).toBe('1.0.0');
      const other = await unversioned(path, method, { 'tus-resumable': '0.2.2' });
      if (method === 'HEAD') {
        expect([missing.status, other.status, missing.headers.get('tus-resumable'), missing.headers.get('video-id')]).toEqual([412, 400, '1.0.0', null]);
        return;
      }
      await expectRefused(missing, 412, 'tus_version_unsupported', { in: 'header', parameter: 'Tus-Resumable' });
      await expectRefused(other, 400, 'invalid_request', { in: 'header', parameter: 'Tus-Resumable' });
    };

    // An unfinished upload's termination, and a missing upload's (tus too refuses the version before it looks for the upload).
    const url = await create(api.baseUrl, 10);
    await expectVersionRefused(url, 'DELETE');
    expect((await tus(api.baseUrl, url, 'HEAD')).headers.get('upload-offset')).toBe('0');
    await expectVersionRefused('/v1/uploads/00000000-0000-4000-8000-000000000000', 'DELETE');

    // A finished upload: HEAD, PATCH (a final request sent again) and DELETE.
    const bytes = await videoLike(64 * KiB);
    const created = await tus(api.baseUrl, '/v1/uploads', 'POST', { 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, bytes);
    expect(created.status).toBe(201);
    const videoId = created.headers.get('video-id')!;
    const finished = created.headers.get('location')!;
    await expectVersionRefused(finished, 'HEAD');
    for (const method of ['PATCH', 'DELETE']) await expectVersionRefused(finished, method);
    const head = await tus(api.baseUrl, finished, 'HEAD');
    expect([head.status, head.headers.get('video-id'), head.headers.get('upload-offset')]).toEqual([200, videoId, String(bytes.length)]);
    await api.removeVideo({ id: videoId, object: { key: `videos/${videoId}/original` } });
  });

  it('OPTIONS needs no Tus-Resumable (the protocol exempts it)', async () => {
    const url = await create(api.baseUrl, 10);
    const response = await fetch(new URL(url, api.baseUrl), { method: 'OPTIONS' });
    expect([response.status, response.headers.get('tus-version')]).toEqual([204, '1.0.0']);
  });

  it('malformed tus headers: 400 invalid_request naming the header', async () => {
    await expectRefused(await tus(api.baseUrl, '/v1/uploads', 'POST', { 'tus-resumable': '0.2.2', 'upload-length': '10' }), 400, 'invalid_request', { in: 'header', parameter: 'Tus-Resumable' });
    await expectRefused(await tus(api.baseUrl, '/v1/uploads', 'POST', { 'upload-length': '-1' }), 400, 'invalid_request', { in: 'header', parameter: 'Upload-Length' });
    await expectRefused(await tus(api.baseUrl, '/v1/uploads', 'POST', {}), 400, 'invalid_request', { in: 'header', parameter: 'Upload-Length' });
    const url = await create(api.baseUrl, 10);
    await expectRefused(await tus(api.baseUrl, url, 'PATCH', { 'upload-offset': '0', 'content-type': 'text/plain' }, Buffer.from('x')), 400, 'invalid_request', { in: 'header', parameter: 'Content-Type' });
    await expectRefused(await tus(api.baseUrl, url, 'PATCH', { ...patching(0), 'upload-offset': 'x' }, Buffer.from('x')), 400, 'invalid_request', { in: 'header', parameter: 'Upload-Offset' });
  });

  it('parallel uploads (concatenation): 501 tus_extension_unsupported', async () => {
    await expectRefused(await tus(api.baseUrl, '/v1/uploads', 'POST', { 'upload-concat': 'partial', 'upload-length': '10' }), 501, 'tus_extension_unsupported', { extension: 'concatenation' });
  });

  it('a PATCH without Upload-Offset or Content-Type: 403 tus_header_missing; nothing stored', async () => {
    const url = await create(api.baseUrl, 10);
    await expectRefused(await tus(api.baseUrl, url, 'PATCH', { 'content-type': 'application/offset+octet-stream' }, Buffer.from('x')), 403, 'tus_header_missing', { in: 'header', parameter: 'Upload-Offset' });
    await expectRefused(await tus(api.baseUrl, url, 'PATCH', { 'upload-offset': '0' }, Buffer.from('x')), 403, 'tus_header_missing', { in: 'header', parameter: 'Content-Type' });
    expect((await tus(api.baseUrl, url, 'HEAD')).headers.get('upload-offset')).toBe('0');
  });

  it('a PATCH at another offset: 409 upload_offset_mismatch; past the declared length: 413 upload_length_exceeded; nothing stored', async () => {
    const bytes = await videoLike(10 * KiB);
    const url = await create(api.baseUrl, bytes.length);
    await expectRefused(await tus(api.baseUrl, url, 'PATCH', patching(1 * KiB), bytes.subarray(1 * KiB)), 409, 'upload_offset_mismatch', { in: 'header', parameter: 'Upload-Offset' });
    await expectRefused(await tus(api.baseUrl, url, 'PATCH', patching(0), Buffer.concat([bytes, Buffer.from('x')])), 413, 'upload_length_exceeded');
    expect((await tus(api.baseUrl, url, 'HEAD')).headers.get('upload-offset')).toBe('0');
  });

  it('a chunked PATCH past the upload’s length: 413 upload_length_exceeded; the offset stays, and the upload resumes', async () => {
    const bytes = await videoLike(10 * KiB);
    const url = await create(api.baseUrl, bytes.length);
    // The whole upload and a byte more, in two chunks: no Content-Length, so tus finds out only as the body passes the length.
    await expectRefused(await chunked(url, 'PATCH', patching(0), [bytes, Buffer.from('x')]), 413, 'upload_length_exceeded');
    expect((await tus(api.baseUrl, url, 'HEAD')).headers.get('upload-offset')).toBe('0');
    const finished = await tus(api.baseUrl, url, 'PATCH', patching(0), bytes);
    expect(finished.status).toBe(204);
    const videoId = finished.headers.get('video-id')!;
    const video = await api.prisma.video.findUniqueOrThrow({ where: { id: videoId } });
    expect(await storedSha256(api, video.objectKey)).toBe(sha256(bytes));
    await api.removeVideo({ id: videoId, object: { key: video.objectKey } });

    // From a tail: the first 4 KiB are kept as the tail of a part (under S3's part minimum), which a chunked request begins with.
    const resumed = await create(api.baseUrl, bytes.length);
    expect((await tus(api.baseUrl, resumed, 'PATCH', patching(0), bytes.subarray(0, 4 * KiB))).status).toBe(204);
    await expectRefused(await chunked(resumed, 'PATCH', patching(4 * KiB), [bytes.subarray(4 * KiB), Buffer.from('x')]), 413, 'upload_length_exceeded');
    expect((await tus(api.baseUrl, resumed, 'HEAD')).headers.get('upload-offset')).toBe(String(4 * KiB));
    const resumedEnd = await chunked(resumed, 'PATCH', patching(4 * KiB), [bytes.subarray(4 * KiB, 6 * KiB), bytes.subarray(6 * KiB)]);
    expect(resumedEnd.status).toBe(204);
    const resumedVideo = await api.prisma.video.findUniqueOrThrow({ where: { id: resumedEnd.headers.get('video-id')! } });
    expect(await storedSha256(api, resumedVideo.objectKey)).toBe(sha256(bytes));
    await api.removeVideo({ id: resumedVideo.id, object: { key: resumedVideo.objectKey } });

    // A creation with its first bytes, chunked past its Upload-Length: refused alike, and no upload is left of it.
    const pendingBefore = await api.prisma.pendingUpload.count({ where: { ownerId: owner } });
    const creation = await chunked('/v1/uploads', 'POST', { 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, [bytes, Buffer.from('x')]);
    await expectRefused(creation, 413, 'upload_length_exceeded');
    expect(await api.prisma.pendingUpload.count({ where: { ownerId: owner } })).toBe(pendingBefore);
  });

  it('a missing upload: 404 not_found', async () => {
    await expectRefused(await tus(api.baseUrl, '/v1/uploads/00000000-0000-4000-8000-000000000000', 'PATCH', patching(0), Buffer.from('x')), 404, 'not_found');
  });

  it('an expired upload not yet swept: 410 upload_expired (HEAD: its status, without a body)', async () => {
    const url = await create(expiringApi.baseUrl, 10);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const head = await tus(expiringApi.baseUrl, url, 'HEAD');
    expect([head.status, head.headers.get('tus-resumable')]).toEqual([410, '1.0.0']);
    await expectRefused(await tus(expiringApi.baseUrl, url, 'PATCH', patching(0), Buffer.from('x')), 410, 'upload_expired');
  });

  it('termination of a finished upload: 400 upload_finished, naming its video; the video stays', async () => {
    const bytes = await videoLike(64 * KiB);
    const created = await tus(api.baseUrl, '/v1/uploads', 'POST', { 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' }, bytes);
    expect(created.status).toBe(201);
    const videoId = created.headers.get('video-id')!;
    const refused = await tus(api.baseUrl, created.headers.get('location')!, 'DELETE');
    await expectRefused(refused, 400, 'upload_finished', { videoId });
    expect(await api.storage.objectExists(`videos/${videoId}/original`)).toBe(true);
    await api.removeVideo({ id: videoId, object: { key: `videos/${videoId}/original` } });
  });

  it('tus-js-client resumes after a 409 offset mismatch (our code in its body) into an identical video', async () => {
    const bytes = await videoLike(384 * KiB);
    const seen: { status: number; body: string }[] = [];
    let patches = 0;
    const videoId = await new Promise<string>((resolve, reject) => {
      const upload = new TusUpload(bytes, {
        endpoint: `${api.baseUrl}/v1/uploads`,
        headers: { authorization: `Bearer ${API_KEY}` },
        chunkSize: 128 * KiB,
        retryDelays: [0, 100],
        // The second PATCH claims the wrong offset, once.
        onBeforeRequest: (req) => {
          if (req.getMethod() === 'PATCH' && ++patches === 2) req.setHeader('Upload-Offset', '0');
        },
        onAfterResponse: (req, res) => {
          if (req.getMethod() === 'PATCH' && res.getStatus() >= 400) seen.push({ status: res.getStatus(), body: res.getBody() });
        },
        onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('video-id')!),
        onError: reject,
      });
      upload.start();
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.status).toBe(409);
    expect(JSON.parse(seen[0]!.body).error.code).toBe('upload_offset_mismatch');
    const video = await api.prisma.video.findUniqueOrThrow({ where: { id: videoId } });
    expect(video.sizeBytes).toBe(BigInt(bytes.length));
    expect(await storedSha256(api, video.objectKey)).toBe(sha256(bytes));
    await api.removeVideo({ id: videoId, object: { key: video.objectKey } });
  });
});
