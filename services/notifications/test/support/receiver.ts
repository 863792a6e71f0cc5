import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
}

/** What the receiver answers on a path: a status, later (when the promise settles: a slow endpoint), or nothing at all (a dead endpoint). */
export type Behaviour = (request: Received, countOnPath: number) => Answer | Promise<Answer> | 'hang';

/**
 * A local webhook receiver on 127.0.0.1: records every request and answers
 * per path as the test says (200 by default).
 */
export class Receiver {
  readonly received: Received[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly hanging = new Set<http.ServerResponse>();
  private server?: http.Server;
  port = 0;

  on(path: string, behaviour: Behaviour): this {
    this.behaviours.set(path, behaviour);
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  requestsTo(path: string): Received[] {
    return this.received.filter((request) => request.path === path);
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]));
        const request: Received = { path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString(), at: Date.now() };
        this.received.push(request);
        const behaviour = this.behaviours.get(request.path);
        const answer = behaviour ? behaviour(request, this.requestsTo(request.path).length) : { status: 200 };
        if (answer === 'hang') {
          this.hanging.add(res);
          return;
        }
        if (answer instanceof Promise) {
          this.hanging.add(res);
          void answer.then(({ status, headers }) => {
            this.hanging.delete(res);
            if (!res.destroyed) res.writeHead(status, headers).end();
          });
          return;
        }
        res.writeHead(answer.status, answer.headers).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
