import { createServer } from 'node:net';
import type { PipelineConfig } from '@video-pipeline/config';
import { isPortOpen } from '../stack';

/**
 * Hands out the health and metrics port of each service in turn: `first`
 * upward, past the ports in `taken` (the stack's own); with `first` 0, a free
 * port each, since we must know it to ask whether the service is ready.
 */
export function healthPortAllocator(first: number, taken: Iterable<number | undefined>): { next(): Promise<number> } {
  const reserved = new Set(taken);
  let next = first;
  return {
    async next() {
      if (first === 0) return freePort();
      while (reserved.has(next)) next++;
      return next++;
    },
  };
}

/** A port nothing listens on now; the service binds it later. Ask one at a time: a port let go may be handed out again. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The host to ask a server listening on `host`, for a URL: a wildcard address answers on loopback. */
export function probeHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Ports a service needs are held by another program. */
export class ServicePortsInUseError extends Error {
  readonly code = 'service_ports_in_use';
}

/**
 * A port a service needs that something else holds would crash-loop it
 * (EADDRINUSE) while the other program answered its readiness check: refuse
 * before starting any, naming each port.
 */
export async function assertServicePortsFree(api: PipelineConfig['api'], services: { name: string; healthPort?: number }[]): Promise<void> {
  const wanted = [
    { what: 'the upload API (PORT)', host: probeHost(api.host).replace(/^\[|\]$/g, ''), port: api.port },
    ...services.flatMap(({ name, healthPort }) => (healthPort === undefined ? [] : [{ what: `${name}'s health server (METRICS_PORT)`, host: '127.0.0.1', port: healthPort }])),
  ];
  const taken = (await Promise.all(wanted.map(async (port) => ((await isPortOpen(port.host, port.port)) ? [port] : [])))).flat();
  if (taken.length > 0) {
    throw new ServicePortsInUseError(
      `cannot start the services: ${taken.map(({ what, host, port }) => `${what} ${host}:${port}`).join(', ')} ${taken.length > 1 ? 'are' : 'is'} in use by another program. Stop it, or move the port${taken.length > 1 ? 's' : ''}.`,
    );
  }
}
