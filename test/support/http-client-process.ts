/**
 * A child process that makes HTTP requests for tests (see http-clients.ts).
 * Clients must not share the server's event loop: in one process the server
 * reads the client's bytes as soon as they are written, which hides what a
 * real client on another machine meets (a reset connection, a lost answer).
 */
import { execFile } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import type { ClientJob, ClientResult, RawExchange } from './http-clients';

process.on('message', (message: { id: number; job: ClientJob }) => {
  run(message.job).then(
    (result) => process.send!({ id: message.id, result }),
    (error: unknown) => process.send!({ id: message.id, result: { error: `client failed: ${String(error)}` } }),
  );
});

async function run(job: ClientJob): Promise<ClientResult> {
  if (job.client === 'fetch') return viaFetch(job);
  if (job.client === 'curl') return viaCurl(job);
  return viaSocket(job);
}

async function viaFetch(job: ClientJob): Promise<ClientResult> {
  try {
    let body: Blob | FormData | undefined;
    let headers = job.headers;
    if (job.form) {
      // As people build uploads: fetch encodes the form and sets its own Content-Type.
      body = new FormData();
      body.append(job.form.field, new Blob([await fs.readFile(job.form.file)]), 'clip.mp4');
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
    } else if (job.bodyFile) {
      body = await openAsBlob(job.bodyFile);
    }
    const response = await fetch(job.url, { method: job.method, headers, body });
    return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { error: `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}` };
  }
}

async function viaCurl(job: ClientJob): Promise<ClientResult> {
  const marker = '\n__status__:';
  const args = ['--silent', '--show-error', '--max-time', '60', '--include', '-X', job.method];
  for (const [name, value] of Object.entries(job.headers)) {
    if (!(job.form && name.toLowerCase() === 'content-type')) args.push('-H', `${name}: ${value}`);
  }
  if (job.form) args.push('-F', `${job.form.field}=@${job.form.file};filename=clip.mp4;type=video/mp4`);
  else if (job.bodyFile) args.push('--data-binary', `@${job.bodyFile}`);
  args.push('--write-out', `${marker}%{http_code}`, job.url);
  return new Promise((resolve) => {
    execFile('curl', args, { maxBuffer: 16 * 1024 * 1024, encoding: 'latin1' }, (error, stdout, stderr) => {
      if (error && !stdout.includes(marker)) return resolve({ error: `curl: ${stderr || error.message}` });
      const response = parseResponses(Buffer.from(stdout.slice(0, stdout.lastIndexOf(marker)), 'latin1')).final;
      resolve(response ? { ...response, ...(error && { error: `curl: ${stderr.trim()}` }) } : { error: `curl printed no answer: ${stderr}` });
    });
  });
}

/** Each exchange on one connection in turn: head, then (unless refused first, with Expect) body, then its answer. */
async function viaSocket(job: ClientJob): Promise<ClientResult> {
  const exchanges: RawExchange[] = job.exchanges ?? [{ method: job.method, path: new URL(job.url).pathname, headers: job.headers, bodyFile: job.bodyFile }];
  const { hostname, port } = new URL(job.url);
  const socket = net.connect({ host: hostname, port: Number(port), allowHalfOpen: true });
  let received = Buffer.alloc(0);
  let closed = false;
  let socketError: string | undefined;
  let wake = () => {};
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake();
  });
  socket.on('error', (error) => {
    socketError = (error as NodeJS.ErrnoException).code ?? error.message;
    wake();
  });
  // The server's end (FIN) or the connection's: either way the server is done with it.
  for (const event of ['end', 'close']) {
    socket.on(event, () => {
      closed = true;
      wake();
    });
  }
  const until = async (done: () => boolean): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!done() && !closed && Date.now() < deadline) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 200)));
  };
  const write = (bytes: Buffer) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.write(bytes, () => resolve())));

  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const results: ClientResult[] = [];
  for (const [index, exchange] of exchanges.entries()) {
    const body = exchange.bodyFile ? await fs.readFile(exchange.bodyFile) : Buffer.alloc(0);
    const headers = { host: `${hostname}:${port}`, 'content-length': String(body.length), ...exchange.headers };
    const head = `${exchange.method} ${exchange.path} HTTP/1.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
    const start = received.length;
    await write(Buffer.from(head, 'latin1'));
    const expectsContinue = Object.entries(headers).some(([name, value]) => name.toLowerCase() === 'expect' && value === '100-continue');
    if (expectsContinue) await until(() => parseResponses(received.subarray(start)).interim.length > 0 || parseResponses(received.subarray(start)).final !== undefined);
    if (!expectsContinue || !parseResponses(received.subarray(start)).final) {
      // Large bodies are written while the answer may already be coming, as clients do.
      for (let offset = 0; offset < body.length && !socket.destroyed; offset += 1024 * 1024) await write(body.subarray(offset, offset + 1024 * 1024));
    }
    if (job.halfClose && index === exchanges.length - 1) socket.end();
    await until(() => parseResponses(received.subarray(start)).final !== undefined);
    const parsed = parseResponses(received.subarray(start));
    results.push(parsed.final ? { ...parsed.final, interim: parsed.interim } : { error: socketError ?? (closed ? 'closed without an answer' : 'no answer within 30 s'), interim: parsed.interim });
    if (!parsed.final) break;
    received = received.subarray(0, start + parsed.length);
  }
  // Whether the server ends the connection: at once after a `Connection: close` answer or a cut, never after a keep-alive one.
  if (job.awaitClose) await until(() => false);
  const connection = { closedByServer: closed, ...(socketError && { error: socketError }) };
  socket.destroy();
  return { ...results[0]!, ...(results.length > 1 && { more: results.slice(1) }), connection };
}

/** The interim (1xx) and first final answer in `bytes`, if complete; `length` is how many bytes they took. */
function parseResponses(bytes: Buffer): { interim: number[]; final?: { status: number; headers: Record<string, string>; body: string }; length: number } {
  const interim: number[] = [];
  let offset = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', offset);
    if (end < 0) return { interim, length: offset };
    const [statusLine, ...lines] = bytes.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(statusLine!.split(' ')[1]);
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    if (status < 200) {
      interim.push(status);
      offset = end + 4;
      continue;
    }
    const length = Number(headers['content-length'] ?? 0);
    if (bytes.length < end + 4 + length) return { interim, length: offset };
    return { interim, final: { status, headers, body: bytes.subarray(end + 4, end + 4 + length).toString('utf8') }, length: end + 4 + length };
  }
}
