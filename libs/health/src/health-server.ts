import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { checkReadiness, type DependencyCheck } from './readiness';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A worker's operational HTTP endpoints: `/healthz` (the process serves),
 * `/readyz` (its dependencies answer) and `/metrics` (Prometheus text: the
 * given registry's, or Node's default metrics).
 */
export async function startHealthServer(options: { host?: string; port: number; checks: Record<string, DependencyCheck>; registry?: Registry }): Promise<HealthServer> {
  const registry = options.registry ?? defaultRegistry();
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: string, contentType = 'application/json') => {
      response.writeHead(status, { 'content-type': contentType }).end(body);
    };
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return send(405, JSON.stringify({ error: { code: 'invalid_request', message: 'only GET' } }));
    if (path === '/healthz') return send(200, JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      void checkReadiness(options.checks).then((readiness) =>
        send(readiness.ready ? 200 : 503, JSON.stringify({ status: readiness.ready ? 'ready' : 'not_ready', checks: readiness.checks })),
      );
      return;
    }
    if (path === '/metrics') {
      void registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (error: unknown) => send(500, JSON.stringify({ error: { code: 'internal', message: String(error) } })),
      );
      return;
    }
    send(404, JSON.stringify({ error: { code: 'not_found', message: `no route GET ${path}` } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Node's process metrics (CPU, memory, event loop, GC, nodejs_version_info) alone. */
function defaultRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
