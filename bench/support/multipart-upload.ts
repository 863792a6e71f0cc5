import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Read size for input files, on both the API and the baseline paths. */
export const FILE_READ_CHUNK_BYTES = 1024 * 1024;

export interface UploadResult {
  status: number;
  body: any;
  elapsedMs: number;
}

/**
 * POSTs `file` to /v1/videos as multipart/form-data, streamed from disk in
 * 1 MiB reads with a known Content-Length: the client never holds more than
 * a read's worth of the file, whatever its size.
 */
export async function uploadFileStreaming(baseUrl: string, apiKey: string, file: string, options: { title?: string; timeoutMs: number }): Promise<UploadResult> {
  const boundary = `----bench${randomBytes(12).toString('hex')}`;
  const { size } = await fs.promises.stat(file);
  const head = Buffer.from(
    (options.title === undefined ? '' : `--${boundary}\r\ncontent-disposition: form-data; name="title"\r\n\r\n${options.title}\r\n`) +
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${path.basename(file)}"\r\ncontent-type: video/mp4\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);

  async function* body() {
    yield head;
    yield* fs.createReadStream(file, { highWaterMark: FILE_READ_CHUNK_BYTES });
    yield tail;
  }

  const started = performance.now();
  const url = new URL('/v1/videos', baseUrl);
  const request = http.request(url, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${apiKey}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': head.length + size + tail.length,
    },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (incoming) => {
      let text = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => (text += chunk));
      incoming.once('end', () => resolve({ status: incoming.statusCode ?? 0, text }));
      incoming.once('error', reject);
    });
  });
  // An early answer (an error) may cut the body short; the answer is what counts then.
  const sending = pipeline(Readable.from(body()), request).catch((error: unknown) => error);
  const { status, text } = await response;
  const sendError = await sending;
  const elapsedMs = performance.now() - started;
  if (sendError && status < 400) throw sendError;
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Not JSON (e.g. a proxy's error page): keep the raw text for the error message.
    if (!(error instanceof SyntaxError)) throw error;
  }
  return { status, body: parsed, elapsedMs };
}

/**
 * The same upload with curl: the client is not what is measured, but it
 * shares this 2-core machine with the API and s3proxy, and curl needs a
 * fraction of a Node client's CPU per byte (it reads the file and writes the
 * socket, nothing else), so less of the client's cost lands on the API path.
 */
export async function uploadFileWithCurl(baseUrl: string, apiKey: string, file: string, options: { title?: string; timeoutMs: number }): Promise<UploadResult> {
  const { execFile } = await import('node:child_process');
  const marker = '\n__status__:';
  const args = [
    '--silent',
    '--show-error',
    '--max-time',
    String(Math.ceil(options.timeoutMs / 1000)),
    '-H',
    `authorization: Bearer ${apiKey}`,
    ...(options.title === undefined ? [] : ['-F', `title=${options.title}`]),
    '-F',
    `file=@${file};type=video/mp4`,
    '--write-out',
    `${marker}%{http_code}`,
    new URL('/v1/videos', baseUrl).toString(),
  ];
  const started = performance.now();
  const output = await new Promise<string>((resolve, reject) => {
    execFile('curl', args, { maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`curl failed: ${stderr || error.message}`)) : resolve(stdout)));
  });
  const elapsedMs = performance.now() - started;
  const at = output.lastIndexOf(marker);
  const text = output.slice(0, at);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  return { status: Number(output.slice(at + marker.length)), body: parsed, elapsedMs };
}

/** curl where the machine has it (set BENCH_UPLOAD_CLIENT=node to force the Node client). */
export const uploadClient: 'curl' | 'node' =
  process.env.BENCH_UPLOAD_CLIENT === 'node' || !fs.existsSync('/usr/bin/curl') ? 'node' : 'curl';
