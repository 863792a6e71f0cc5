import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@video-pipeline/logging';
import { makeVideo } from '../../../test/support/fixtures';
import { API_KEY, eventually, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BROWSER_ORIGIN = 'http://127.0.0.2:5173';

describe('HTTP conventions', () => {
  const config = testConfig(uniquePrefix('conventions'), { S3_BUCKET: `conventions-${Date.now().toString(36)}` });
  const lines: Record<string, unknown>[] = [];
  let api: RunningApi;

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    api = await startUploadApi(config, { logger: createLogger('upload-api', { level: 'debug', destination }), corsOrigins: [BROWSER_ORIGIN] });
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${api.baseUrl}${path}`, { headers });
  const linesOf = (requestId: string) => lines.filter((line) => line.reqId === requestId);

  describe('request ids', () => {
    it('are made for each request and echoed as X-Request-Id', async () => {
      const [first, second] = await Promise.all([get('/healthz'), get('/healthz')]);
      expect(first.headers.get('x-request-id')).toMatch(UUID);
      expect(second.headers.get('x-request-id')).toMatch(UUID);
      expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
    });

    it('are the client\'s own when it sends a usable one, and a new one otherwise', async () => {
      expect((await get('/healthz', { 'x-request-id': 'trace-4bf92f35.00f0:1' })).headers.get('x-request-id')).toBe('trace-4bf92f35.00f0:1');
      expect((await get('/healthz', { 'x-request-id': 'has spaces and "quotes"' })).headers.get('x-request-id')).toMatch(UUID);
      expect((await get('/healthz', { 'x-request-id': 'x'.repeat(129) })).headers.get('x-request-id')).toMatch(UUID);
    });

    it('are in every error body', async () => {
      const response = await get('/v1/videos');
      const body = (await response.json()) as { error: { code: string }; requestId: string };
      expect(response.status).toBe(401);
      expect(body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) }, requestId: response.headers.get('x-request-id') });
    });
  });

  describe('request logs', () => {
    it('are one line per request at info, with the id, owner, status and time, and never the API key', async () => {
      const response = await get('/v1/videos?limit=1', { authorization: `Bearer ${API_KEY}` });
      expect(response.status).toBe(200);
      const requestId = response.headers.get('x-request-id')!;
      const [line] = await eventually(async () => linesOf(requestId).length > 0 && linesOf(requestId), 5_000, 'the request to be logged');
      expect(linesOf(requestId)).toHaveLength(1);
      expect(line).toMatchObject({ level: 'info', service: 'upload-api', msg: 'GET /v1/videos?limit=1 200', owner: 'alice', ms: expect.any(Number) });
      expect(JSON.stringify(lines)).not.toContain(API_KEY);
    });

    it('carry the code of an error answered', async () => {
      const response = await get('/v1/videos/not-a-uuid', { authorization: `Bearer ${API_KEY}` });
      const requestId = response.headers.get('x-request-id')!;
      const [line] = await eventually(async () => linesOf(requestId).length > 0 && linesOf(requestId), 5_000, 'the request to be logged');
      expect(line).toMatchObject({ level: 'info', msg: 'GET /v1/videos/not-a-uuid 404', code: 'not_found' });
    });

    it('log health and readiness probes at debug', async () => {
      const ids = await Promise.all(['/healthz', '/readyz'].map(async (path) => (await get(path)).headers.get('x-request-id')!));
      await eventually(async () => ids.every((id) => linesOf(id).length === 1), 5_000, 'the probes to be logged');
      expect(ids.map((id) => linesOf(id)[0]!.level)).toEqual(['debug', 'debug']);
    });
  });

  it('sends helmet\'s security headers', async () => {
    const response = await get('/healthz');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  describe('CORS', () => {
    it('lets a configured origin\'s pages call the API, and read Location and X-Request-Id', async () => {
      const preflight = await fetch(`${api.baseUrl}/v1/videos`, {
        method: 'OPTIONS',
        headers: { origin: BROWSER_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(BROWSER_ORIGIN);
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
      expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization');

      const response = await get('/v1/videos', { origin: BROWSER_ORIGIN, authorization: `Bearer ${API_KEY}` });
      expect(response.headers.get('access-control-allow-origin')).toBe(BROWSER_ORIGIN);
      expect(response.headers.get('access-control-expose-headers')).toBe('Location,X-Request-Id,Retry-After');
    });

    it("lets a configured origin's pages read the tus endpoint's refusals, ours and tus' own", async () => {
      const refusedByUs = await fetch(`${api.baseUrl}/v1/uploads/no-such-upload`, { method: 'HEAD', headers: { origin: BROWSER_ORIGIN, 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}` } });
      expect(refusedByUs.status).toBe(404);
      expect(refusedByUs.headers.get('access-control-allow-origin')).toBe(BROWSER_ORIGIN);
      const unauthenticated = await fetch(`${api.baseUrl}/v1/uploads`, { method: 'POST', headers: { origin: BROWSER_ORIGIN, 'tus-resumable': '1.0.0', 'upload-length': '10' } });
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers.get('access-control-allow-origin')).toBe(BROWSER_ORIGIN);
      expect(unauthenticated.headers.get('access-control-expose-headers')).toBe('Location,X-Request-Id,Retry-After,Tus-Resumable,Tus-Version');
      const refusedByTus = await fetch(`${api.baseUrl}/v1/uploads`, { method: 'POST', headers: { origin: BROWSER_ORIGIN, 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}` } });
      expect(refusedByTus.status).toBe(400);
      expect(refusedByTus.headers.get('access-control-allow-origin')).toBe(BROWSER_ORIGIN);
      // tus' preflight is still tus': it announces the protocol's headers.
      const preflight = await fetch(`${api.baseUrl}/v1/uploads`, {
        method: 'OPTIONS',
        headers: { origin: BROWSER_ORIGIN, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'upload-offset' },
      });
      expect(preflight.headers.get('tus-resumable')).toBe('1.0.0');
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Upload-Offset/i);
    });

    it('gives other origins nothing', async () => {
      const response = await get('/v1/videos', { origin: 'http://127.0.0.3:5173', authorization: `Bearer ${API_KEY}` });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('is off unless origins are configured', async () => {
      const sameOriginOnly = await startUploadApi(config);
      try {
        const response = await fetch(`${sameOriginOnly.baseUrl}/healthz`, { headers: { origin: BROWSER_ORIGIN } });
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await sameOriginOnly.close();
      }
    });
  });

  it('finishes an upload in flight when closing, then closes its connection', async () => {
    const closing = await startUploadApi(config);
    const video = await fs.readFile(await makeVideo({ seconds: 1 }));
    const boundary = 'closing-boundary';
    const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="clip.mp4"\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const request = http.request(`${closing.baseUrl}/v1/videos`, {
      method: 'POST',
      agent: new http.Agent({ keepAlive: true }),
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + video.length + tail.length },
    });
    const answered = new Promise<http.IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject));
    const received = new Promise((resolve) => closing.app.server.once('request', resolve));
    request.write(Buffer.concat([head, video.subarray(0, 1000)]));
    await received;

    const closed = closing.app.close();
    request.end(Buffer.concat([video.subarray(1000), tail]));
    const response = await answered;
    const body = await new Promise<string>((resolve) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text));
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers.connection).toBe('close');
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(fetch(`${closing.baseUrl}/healthz`)).rejects.toThrow();
    const stored = JSON.parse(body) as { id: string; object: { key: string; sizeBytes: number } };
    expect(stored.object.sizeBytes).toBe(video.length);
    await closing.removeVideo(stored);
    await closing.prisma.$disconnect();
  });

  describe('requests Node cannot parse', () => {
    /** Sends raw bytes on a socket of its own and reads the whole answer (the server closes the connection). */
    async function raw(bytes: string): Promise<{ status: number; headers: string; body: string }> {
      const url = new URL(api.baseUrl);
      const socket = net.connect(Number(url.port), url.hostname);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('close', () => resolve());
        socket.write(bytes);
      });
      const [head, body = ''] = answer.split('\r\n\r\n');
      return { status: Number(head!.split(' ')[1]), headers: head!, body };
    }

    it('a malformed request gets the API’s JSON 400 with a stable code, and the connection closes', async () => {
      const answer = await raw('GET /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
      expect(answer.status).toBe(400);
      expect(answer.headers).toMatch(/content-type: application\/json/i);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'invalid_request', message: expect.stringMatching(/^malformed HTTP request/) } });
      expectRequestId(answer);
    });

    it('headers over 16 KiB get 431 headers_too_large', async () => {
      const answer = await raw(`GET /v1/videos HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
      expect(answer.status).toBe(431);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'headers_too_large' } });
      expectRequestId(answer);
    });

    /** Like every answer, it carries a request id, the same in the header and the error body. */
    function expectRequestId(answer: { headers: string; body: string }): void {
      const id = /^x-request-id: (.+)$/im.exec(answer.headers)?.[1]?.trim();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(JSON.parse(answer.body).requestId).toBe(id);
    }
  });
});
