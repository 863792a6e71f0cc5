import { defineRoute } from '../http/route';
import { healthSchema } from '../schemas';

/** GET /healthz: the process is alive and serving. */
export function healthzRoute() {
  return defineRoute({
    operationId: 'healthz',
    method: 'get',
    path: '/healthz',
    tags: ['operations'],
    summary: 'Liveness: the process serves',
    auth: 'public',
    logLevel: 'debug',
    responses: { 200: { description: 'alive', schema: healthSchema } },
    errors: [],
    handle: async () => ({ status: 200, body: { status: 'ok' as const } }),
  });
}
