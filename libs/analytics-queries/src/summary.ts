import { Prisma, type PrismaClient } from '@video-pipeline/db';

/** Whose numbers, over which time, from which group's facts. */
export interface SummaryScope {
  /** The Kafka group id whose facts to read: the live `analytics` group's (prefixed), or a rebuild's. */
  factsOf: string;
  /** One owner's numbers; all owners' when absent. */
  ownerId?: string;
  /** Events at or after `from` and before `to` (by their time). */
  from?: Date;
  to?: Date;
  /** Only events another group also has facts of (a rebuild compares the live numbers over the events it replayed). */
  onlyEventsOf?: string;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface VolumeRow {
  uploads: number;
  bytes: number;
  sourceMinutes: number;
}

export interface AnalyticsSummary {
  uploads: VolumeRow;
  /** Per UTC day (`YYYY-MM-DD`), oldest first: uploads and bytes by upload day, minutes of source by the day the ladder was done. */
  days: (VolumeRow & { day: string })[];
  /** Per owner, by owner id. */
  owners: (VolumeRow & { ownerId: string })[];
  /** Per media stage: outcomes, failure rate, failures by reason, processing time of its successes in seconds. */
  stages: { stage: string; succeeded: number; failed: number; failureRate: number | null; failuresByReason: { code: string; count: number }[]; processingSeconds: Percentiles }[];
  /** From upload to `video.ready`, in seconds. */
  uploadToReadySeconds: Percentiles;
  /** Moderation decisions by outcome. */
  moderation: Record<'approved' | 'rejected' | 'needs_review', number>;
  /** How videos ended: ready, rejected, failed (by stage and reason), deleted. */
  outcomes: { ready: number; rejected: number; failed: number; deleted: number; failedByReason: { stage: string; code: string; count: number }[] };
}

const STAGE_EVENTS = ['video.transcoded', 'video.transcode.failed', 'video.thumbnails.generated', 'video.thumbnails.failed'];

/**
 * The pipeline's numbers over one scope, each computed by SQL from the
 * facts (one row per event id), so duplicates and replays change nothing
 * and the same facts always give the same numbers.
 */
export async function analyticsSummary(prisma: PrismaClient, scope: SummaryScope): Promise<AnalyticsSummary> {
  const where = Prisma.sql`f.consumer_group = ${scope.factsOf}
    ${scope.ownerId === undefined ? Prisma.empty : Prisma.sql`AND f.owner_id = ${scope.ownerId}`}
    ${scope.from === undefined ? Prisma.empty : Prisma.sql`AND f.occurred_at >= ${scope.from}`}
    ${scope.to === undefined ? Prisma.empty : Prisma.sql`AND f.occurred_at < ${scope.to}`}
    ${scope.onlyEventsOf === undefined ? Prisma.empty : Prisma.sql`AND f.event_id IN (SELECT event_id FROM analytics_facts WHERE consumer_group = ${scope.onlyEventsOf})`}`;
  const volume = Prisma.sql`
    count(*) FILTER (WHERE f.event_type = 'video.uploaded')::int AS uploads,
    coalesce(sum(f.size_bytes) FILTER (WHERE f.event_type = 'video.uploaded'), 0)::float8 AS bytes,
    coalesce(sum(f.source_seconds) FILTER (WHERE f.event_type = 'video.transcoded'), 0)::float8 / 60 AS "sourceMinutes"`;
  const percentiles = (filter: Prisma.Sql) => Prisma.sql`
    count(f.duration_ms) FILTER (WHERE ${filter})::int AS count,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY f.duration_ms / 1000.0) FILTER (WHERE ${filter}) AS p50,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY f.duration_ms / 1000.0) FILTER (WHERE ${filter}) AS p95,
    percentile_cont(0.99) WITHIN GROUP (ORDER BY f.duration_ms / 1000.0) FILTER (WHERE ${filter}) AS p99`;

  const [[totals], days, owners, stages, reasons, [toReady], [ends], failedByReason] = await Promise.all([
    prisma.$queryRaw<VolumeRow[]>`SELECT ${volume} FROM analytics_facts f WHERE ${where}`,
    prisma.$queryRaw<(VolumeRow & { day: string })[]>`
      SELECT to_char(f.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${volume}
      FROM analytics_facts f WHERE ${where} AND f.event_type IN ('video.uploaded', 'video.transcoded') GROUP BY 1 ORDER BY 1`,
    prisma.$queryRaw<(VolumeRow & { ownerId: string })[]>`
      SELECT f.owner_id AS "ownerId", ${volume}
      FROM analytics_facts f WHERE ${where} AND f.event_type IN ('video.uploaded', 'video.transcoded') GROUP BY 1 ORDER BY 1`,
    prisma.$queryRaw<{ stage: string; succeeded: number; failed: number; count: number; p50: number | null; p95: number | null; p99: number | null }[]>`
      SELECT f.stage, count(*) FILTER (WHERE f.outcome = 'succeeded')::int AS succeeded, count(*) FILTER (WHERE f.outcome = 'failed')::int AS failed,
        ${percentiles(Prisma.sql`f.outcome = 'succeeded'`)}
      FROM analytics_facts f WHERE ${where} AND f.event_type IN (${Prisma.join(STAGE_EVENTS)}) GROUP BY 1 ORDER BY 1`,
    prisma.$queryRaw<{ stage: string; code: string; count: number }[]>`
      SELECT f.stage, f.reason_code AS code, count(*)::int AS count
      FROM analytics_facts f WHERE ${where} AND f.event_type IN (${Prisma.join(STAGE_EVENTS)}) AND f.outcome = 'failed' GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`,
    prisma.$queryRaw<Percentiles[]>`SELECT ${percentiles(Prisma.sql`true`)} FROM analytics_facts f WHERE ${where} AND f.event_type = 'video.ready'`,
    prisma.$queryRaw<{ ready: number; rejected: number; failed: number; deleted: number; approved: number; moderation_rejected: number; needs_review: number }[]>`
      SELECT count(*) FILTER (WHERE f.event_type = 'video.ready')::int AS ready, count(*) FILTER (WHERE f.event_type = 'video.rejected')::int AS rejected,
        count(*) FILTER (WHERE f.event_type = 'video.failed')::int AS failed, count(*) FILTER (WHERE f.event_type = 'video.deleted')::int AS deleted,
        count(*) FILTER (WHERE f.event_type = 'video.moderated' AND f.outcome = 'approved')::int AS approved,
        count(*) FILTER (WHERE f.event_type = 'video.moderated' AND f.outcome = 'rejected')::int AS moderation_rejected,
        count(*) FILTER (WHERE f.event_type = 'video.moderated' AND f.outcome = 'needs_review')::int AS needs_review
      FROM analytics_facts f WHERE ${where}`,
    prisma.$queryRaw<{ stage: string; code: string; count: number }[]>`
      SELECT f.stage, f.reason_code AS code, count(*)::int AS count
      FROM analytics_facts f WHERE ${where} AND f.event_type = 'video.failed' GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`,
  ]);

  return {
    uploads: totals!,
    days,
    owners,
    stages: stages.map(({ stage, succeeded, failed, count, p50, p95, p99 }) => ({
      stage,
      succeeded,
      failed,
      failureRate: succeeded + failed === 0 ? null : failed / (succeeded + failed),
      failuresByReason: reasons.filter((reason) => reason.stage === stage).map(({ code, count: n }) => ({ code, count: n })),
      processingSeconds: { count, p50, p95, p99 },
    })),
    uploadToReadySeconds: toReady!,
    moderation: { approved: ends!.approved, rejected: ends!.moderation_rejected, needs_review: ends!.needs_review },
    outcomes: { ready: ends!.ready, rejected: ends!.rejected, failed: ends!.failed, deleted: ends!.deleted, failedByReason },
  };
}
