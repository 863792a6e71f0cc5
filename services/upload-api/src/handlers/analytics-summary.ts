import { z } from 'zod';
import type { AnalyticsSummary, SummaryScope } from '@video-pipeline/analytics-queries';
import { PipelineError } from '@video-pipeline/errors';
import { defineRoute } from '../http/route';
import { asOutage } from '../video-repository';

/** What the analytics route needs: the numbers of a scope, from the live analytics group's facts. */
export interface AnalyticsRouteDeps {
  summary(scope: Omit<SummaryScope, 'factsOf'>): Promise<AnalyticsSummary>;
  clock: { now(): number };
}

const DEFAULT_WINDOW_DAYS = 30;

const summaryQuery = z.object({
  from: z.iso.datetime({ offset: true, error: 'from must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z' }).optional().meta({ description: `start of the window (inclusive); default: ${DEFAULT_WINDOW_DAYS} days before \`to\`` }),
  to: z.iso.datetime({ offset: true, error: 'to must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z' }).optional().meta({ description: 'end of the window (exclusive); default: now' }),
  owner: z.string().min(1).optional().meta({ description: 'admins only: one owner\'s numbers (default: all owners)' }),
});

const percentiles = z.object({ count: z.number().int(), p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() });
const volume = { uploads: z.number().int(), bytes: z.number(), sourceMinutes: z.number() };

const summarySchema = z
  .object({
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    ownerId: z.string().nullable().meta({ description: 'whose numbers; null: every owner\'s (admins)' }),
    uploads: z.object(volume),
    days: z.array(z.object({ day: z.string(), ...volume })).meta({ description: 'per UTC day, oldest first; minutes of source count on the day the ladder was done' }),
    owners: z.array(z.object({ ownerId: z.string(), ...volume })),
    stages: z.array(
      z.object({
        stage: z.string(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        failureRate: z.number().nullable(),
        failuresByReason: z.array(z.object({ code: z.string(), count: z.number().int() })),
        processingSeconds: percentiles.meta({ description: 'of the stage\'s successes' }),
      }),
    ),
    uploadToReadySeconds: percentiles,
    moderation: z.object({ approved: z.number().int(), rejected: z.number().int(), needs_review: z.number().int() }),
    outcomes: z.object({
      ready: z.number().int(),
      rejected: z.number().int(),
      failed: z.number().int(),
      deleted: z.number().int(),
      failedByReason: z.array(z.object({ stage: z.string(), code: z.string(), count: z.number().int() })),
    }),
  })
  .meta({ id: 'AnalyticsSummary' });

/** GET /v1/analytics/summary?from=&to= — the caller's numbers; an admin's are every owner's. */
export function analyticsSummaryRoute(deps: AnalyticsRouteDeps) {
  return defineRoute({
    operationId: 'getAnalyticsSummary',
    method: 'get',
    path: '/v1/analytics/summary',
    tags: ['analytics'],
    summary: 'Your pipeline numbers over a window',
    description:
      'Uploads, bytes and minutes of source per day and per owner; per media stage, outcomes, failure rate by reason and processing time percentiles; upload-to-ready percentiles; moderation decisions. An owner\'s key gives that owner\'s numbers; an admin\'s key every owner\'s (or one, with `owner`). Events count by their time.',
    auth: 'owner-or-admin',
    query: summaryQuery,
    responses: { 200: { description: 'the numbers', schema: summarySchema } },
    errors: ['database_unavailable'],
    async handle({ query, caller }) {
      const to = query.to ? new Date(query.to) : new Date(deps.clock.now());
      const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_WINDOW_DAYS * 24 * 60 * 60 * 1000);
      if (from > to) throw new PipelineError('invalid_request', 'from must not be after to', { details: { in: 'query', parameter: 'from' } });
      if (query.owner !== undefined && caller.kind !== 'admin') throw new PipelineError('forbidden', 'only an admin key may ask for another owner\'s numbers');
      const ownerId = caller.kind === 'owner' ? caller.ownerId : query.owner;
      const numbers = await deps.summary({ ownerId, from, to }).catch(asOutage);
      return { status: 200, body: { from: from.toISOString(), to: to.toISOString(), ownerId: ownerId ?? null, ...numbers } };
    },
  });
}
