import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { PART_SIZE_BYTES } from '@video-pipeline/storage';
import { DEFAULT_DISCARD_LIMITS } from '../src/http/early-answers';
import { makeVideo } from '../../../test/support/fixtures';
import { API_KEY, eventually, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { uploadFile } from '../../../test/support/upload-client';

const MAX_UPLOAD_BYTES = 12 * 1024 * 1024;

/** A real MP4 head followed by noise: passes the sniffer, any size we like. */
async function videoLike(totalBytes: number): Promise<Buffer> {
  const head = (await fs.readFile(await makeVideo({ seconds: 1 }))).subarray(0, 8 * 1024);
  return Buffer.concat([head, randomBytes(totalBytes - head.length)]);
}

describe('rejected uploads answer a stable 4xx code and leave nothing behind', () => {
  const config = testConfig(uniquePrefix('reject'), { S3_BUCKET: `reject-${Date.now().toString(36)}` });
  let api: RunningApi;

  beforeAll(async () => {
    api = await startUploadApi(config, { maxUploadBytes: MAX_UPLOAD_BYTES });
  });
  afterAll(async () => {
    await api?.close();
  });

  /** No object, no open multipart upload, no video row, no outbox row. */
  async function expectNothingLeft(): Promise<void> {
    expect(await api.storage.listKeys()).toEqual([]);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
    expect(await api.prisma.video.count({ where: { bucket: config.storage.bucket } })).toBe(0);
    expect(await api.prisma.outboxEvent.count({ where: { topic: { startsWith: config.kafka.topicPrefix } } })).toBe(0);
  }

  it.each([
    ['no file at all', { fields: { title: 'no file' } }, 400, 'missing_file'],
    ['an empty file', { file: { bytes: Buffer.alloc(0) } }, 400, 'empty_file'],
    ['plain text named .mp4', { file: { bytes: Buffer.from('hello, not a video\n'.repeat(500)), name: 'clip.mp4', type: 'video/mp4' } }, 415, 'unsupported_media_type'],
    ['an HLS playlist', { file: { bytes: Buffer.from('#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1/x.ts\n'), name: 'x.m3u8' } }, 415, 'unsupported_media_type'],
    ['a PNG image', { file: { bytes: Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(5000)]) } }, 415, 'unsupported_media_type'],
  ] as const)('%s', async (_name, parts, status, code) => {
    const response = await uploadFile(api.baseUrl, API_KEY, parts as Parameters<typeof uploadFile>[2]);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(typeof response.body.error.message).toBe('string');
    await expectNothingLeft();
  });

  it('an unknown field before the file', async () => {
    const response = await uploadFile(api.baseUrl, API_KEY, { fields: { description: 'x' }, file: { bytes: await videoLike(100_000) } });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'unknown_field', details: { field: 'description' } });
    await expectNothingLeft();
  });

  it('an unknown field after the file (the stored object is removed)', async () => {
    const response = await uploadFile(api.baseUrl, API_KEY, { file: { bytes: await videoLike(100_000) }, extraFiles: { thumbnail: randomBytes(1000) } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('unknown_field');
    await expectNothingLeft();
  });

  it('two files', async () => {
    const form = new FormData();
    const bytes = await videoLike(50_000);
    form.append('file', new Blob([bytes]), 'a.mp4');
    form.append('file', new Blob([bytes]), 'b.mp4');
    const response = await fetch(`${api.baseUrl}/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('duplicate_field');
    await expectNothingLeft();
  });

  it('a file over the size limit, after parts were already uploaded', async () => {
    const response = await uploadFile(api.baseUrl, API_KEY, { file: { bytes: await videoLike(MAX_UPLOAD_BYTES + 4 * 1024 * 1024) } });
    expect(response.status).toBe(413);
    expect(response.body.error).toMatchObject({ code: 'file_too_large', details: { maxBytes: MAX_UPLOAD_BYTES } });
    await expectNothingLeft();
  });

  it('a body that is not multipart', async () => {
    const response = await fetch(`${api.baseUrl}/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ file: 'x' }),
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_multipart');
    await expectNothingLeft();
  });

  it('a large JSON body is refused as not multipart before it is read', async () => {
    const response = await fetch(`${api.baseUrl}/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }),
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_multipart');
    await expectNothingLeft();
  });

  it('a client that disconnects mid-upload gets no answer and leaves nothing', async () => {
    const boundary = '----pipeline-test-boundary';
    const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="big.mp4"\r\ncontent-type: video/mp4\r\n\r\n`);
    const body = await videoLike(10 * 1024 * 1024);
    const url = new URL(`${api.baseUrl}/v1/videos`);
    const answered = await new Promise<boolean>((resolve) => {
      const request = http.request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + body.length + 100 },
      });
      request.on('response', () => resolve(true));
      request.on('error', () => resolve(false));
      request.write(head);
      // Past the first multipart part, so a multipart upload is open when we vanish.
      request.write(body.subarray(0, PART_SIZE_BYTES + 1024 * 1024), () => setTimeout(() => request.destroy(), 300));
    });
    expect(answered).toBe(false);
    await eventually(async () => (await api.storage.listOpenMultipartUploads()).length === 0 && (await api.storage.listKeys()).length === 0, 10_000, 'the aborted upload to be cleaned up');
    await expectNothingLeft();
  });

  it('an upload answered early is read on only so far, then its connection is closed', async () => {
    // Chunked, so no declared length lets the API refuse it before reading: the stray field is what it answers.
    const boundary = '----pipeline-test-boundary';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="description"\r\n\r\nx\r\n--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="huge.mp4"\r\n\r\n`;
    const url = new URL(api.baseUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    let answer = '';
    let sent = 0;
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined); // the server closing under our writes is what this test waits for
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(`POST /v1/videos HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${API_KEY}\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ntransfer-encoding: chunked\r\n\r\n${asChunk(Buffer.from(head))}`);
    const chunk = asChunk(Buffer.alloc(1024 * 1024));
    const sendMore = () => {
      while (!socket.destroyed && sent < 1024 ** 3 && socket.write(chunk)) sent += chunk.length;
    };
    socket.on('drain', sendMore);
    sendMore();
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"unknown_field"');
    // It dropped up to its discard limit after answering; what else got out sat in the two sockets' buffers, far short of the gigabyte it would have sent.
    expect(sent).toBeLessThan(DEFAULT_DISCARD_LIMITS.bytes + 32 * 1024 * 1024);
    await expectNothingLeft();
  });

  it('a title that is too long', async () => {
    const response = await uploadFile(api.baseUrl, API_KEY, { fields: { title: 'x'.repeat(501) }, file: { bytes: await videoLike(10_000) } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    await expectNothingLeft();
  });
});

/** One chunk of a `transfer-encoding: chunked` body. */
function asChunk(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
}
