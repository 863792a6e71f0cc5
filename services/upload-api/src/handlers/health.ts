import type { FastifyReply } from 'fastify';
import { checkReadiness, type DependencyCheck } from '@video-pipeline/health';

/** GET /healthz: the process is alive and serving. */
export async function healthz() {
  return { status: 'ok' };
}

/** GET /readyz: every dependency answered; 503 with the failing ones otherwise. */
export function readyzHandler(checks: Record<string, DependencyCheck>) {
  return async function readyz(_request: unknown, reply: FastifyReply) {
    const readiness = await checkReadiness(checks);
    return reply.code(readiness.ready ? 200 : 503).send({ status: readiness.ready ? 'ready' : 'not_ready', checks: readiness.checks });
  };
}
