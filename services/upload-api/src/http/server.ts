import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { PipelineError } from '@video-pipeline/errors';
import type { Express, RequestHandler } from 'express';

/** As long as an idle keep-alive connection stays open: longer than the usual load balancer's 60 s, so the balancer closes first. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface HttpServer {
  server: http.Server;
  listen(options: { host: string; port: number }): Promise<AddressInfo>;
  /** Stops accepting connections and lets requests in flight finish (uploads included); resolves when all have. */
  close(): Promise<void>;
  /** Ends keep-alive connections after their answer once the server is closing, so that closing does not wait for them to idle out. */
  closingConnections: RequestHandler;
}

/**
 * A request Node's parser refuses never reaches the app: without this, Node
 * answers a bare `400 Bad Request` with no body. It gets our JSON error (a
 * stable code and a request id, as from any route; a new id, since the
 * client's own header could not be read) and the connection is closed.
 */
function answerMalformedRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const failure =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new PipelineError('headers_too_large', 'the request\'s headers are over 16 KiB in all')
      : new PipelineError('invalid_request', `malformed HTTP request (${error.code ?? error.message})`);
  const requestId = randomUUID();
  const body = JSON.stringify({ ...failure.toJSON(), requestId });
  const reason = failure.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${failure.status} ${reason}\r\nX-Request-Id: ${requestId}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The HTTP server for `app`, set up for uploads. */
export function createHttpServer(app: Express): HttpServer {
  // An upload takes as long as the client needs to send it: no time limit on a request.
  const server = http.createServer({ requestTimeout: 0 }, app);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // A client may half-close its socket once it has sent its request; Node's server would then end its own
  // side too, and the answer (a 201 for a stored upload) could never reach the client. With this it still does.
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // Without a listener Node answers `Expect: 100-continue` itself at once; the app asks for the body only
  // when it will read it (askForBody), so a refused request is answered without the body being sent.
  server.on('checkContinue', (req, res) => app(req, res));
  server.on('clientError', answerMalformedRequest);

  let closing: Promise<void> | undefined;
  const inFlight = new Set<http.ServerResponse>();
  return {
    server,
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () => {
      // Node closes idle connections itself; those with a request in flight end after their answer.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      closing ??= new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      return closing;
    },
    closingConnections: (_req, res, next) => {
      if (closing) res.setHeader('connection', 'close');
      inFlight.add(res);
      res.once('close', () => {
        inFlight.delete(res);
        // An answer that had started before closing went out keep-alive: its connection is idle now.
        if (closing) setImmediate(() => server.closeIdleConnections());
      });
      next();
    },
  };
}
