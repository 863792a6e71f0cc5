import { checkReadiness, type DependencyCheck } from '@video-pipeline/health';
import { defineRoute } from '../http/route';
import { readinessSchema } from '../schemas';

/** GET /readyz: every dependency answered; 503 with the failing ones otherwise. */
export function readyzRoute(checks: Record<string, DependencyCheck>) {
  return defineRoute({
    operationId: 'readyz',
    method: 'get',
    path: '/readyz',
    tags: ['operations'],
    summary: 'Readiness: every dependency answers',
    description: `Checks ${Object.keys(checks).join(', ')}, each within a bounded time.`,
    auth: 'public',
    logLevel: 'debug',
    responses: {
      200: { description: 'ready', schema: readinessSchema },
      503: { description: 'a dependency is failing; `checks` says which', schema: readinessSchema },
    },
    errors: [],
    async handle() {
      const readiness = await checkReadiness(checks);
      const body = { status: readiness.ready ? ('ready' as const) : ('not_ready' as const), checks: readiness.checks };
      return readiness.ready ? { status: 200, body } : { status: 503, body };
    },
  });
}
