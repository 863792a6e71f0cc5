import { Gauge, type Registry } from 'prom-client';
import type { PrismaClient } from '@video-pipeline/db';
import { analyticsSummary, type AnalyticsSummary } from './summary';

/** The window the percentile gauges cover. */
const PERCENTILE_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * The pipeline's numbers as Prometheus gauges, read from the facts when
 * scraped (one pair of queries per scrape): totals since the beginning
 * (use `increase()` / `rate()` on them), percentiles over the last 24 hours.
 */
export function registerAnalyticsMetrics(registry: Registry, prisma: PrismaClient, factsOf: string, now: () => number = Date.now): void {
  let scrape: Promise<{ total: AnalyticsSummary; recent: AnalyticsSummary }> | undefined;
  // Every gauge's collect() of one scrape shares one read.
  const read = () => {
    scrape ??= Promise.all([
      analyticsSummary(prisma, { factsOf }),
      analyticsSummary(prisma, { factsOf, from: new Date(now() - PERCENTILE_WINDOW_MS) }),
    ]).then(([total, recent]) => ({ total, recent }));
    const current = scrape;
    setImmediate(() => {
      if (scrape === current) scrape = undefined;
    });
    return current;
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (gauge: Gauge<L>, numbers: { total: AnalyticsSummary; recent: AnalyticsSummary }) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        fill(this, await read());
      },
    });

  gauge('pipeline_analytics_uploads', 'Videos uploaded, since the beginning.', [], (g, { total }) => g.set(total.uploads.uploads));
  gauge('pipeline_analytics_upload_bytes', 'Bytes of video uploaded, since the beginning.', [], (g, { total }) => g.set(total.uploads.bytes));
  gauge('pipeline_analytics_source_minutes', 'Minutes of source video transcoded, since the beginning.', [], (g, { total }) => g.set(total.uploads.sourceMinutes));
  gauge('pipeline_analytics_stage_outcomes', 'Media stages that ended, by stage and outcome, since the beginning.', ['stage', 'outcome'], (g, { total }) => {
    for (const stage of total.stages) {
      g.set({ stage: stage.stage, outcome: 'succeeded' }, stage.succeeded);
      g.set({ stage: stage.stage, outcome: 'failed' }, stage.failed);
    }
  });
  gauge('pipeline_analytics_stage_failures', 'Media stages that failed for good, by stage and reason, since the beginning.', ['stage', 'reason'], (g, { total }) => {
    for (const stage of total.stages) for (const reason of stage.failuresByReason) g.set({ stage: stage.stage, reason: reason.code }, reason.count);
  });
  gauge('pipeline_analytics_stage_processing_seconds', 'Processing time of a media stage\'s successes over the last 24 hours, by quantile.', ['stage', 'quantile'], (g, { recent }) => {
    for (const stage of recent.stages) setQuantiles(g, stage.processingSeconds, { stage: stage.stage });
  });
  gauge('pipeline_analytics_upload_to_ready_seconds', 'Time from upload to ready over the last 24 hours, by quantile.', ['quantile'], (g, { recent }) => setQuantiles(g, recent.uploadToReadySeconds, {}));
  gauge('pipeline_analytics_moderation_decisions', 'Moderation decisions, by decision, since the beginning.', ['decision'], (g, { total }) => {
    for (const [decision, count] of Object.entries(total.moderation)) g.set({ decision }, count);
  });
  gauge('pipeline_analytics_video_outcomes', 'How videos ended (ready, rejected, failed, deleted), since the beginning.', ['outcome'], (g, { total }) => {
    for (const outcome of ['ready', 'rejected', 'failed', 'deleted'] as const) g.set({ outcome }, total.outcomes[outcome]);
  });
}

function setQuantiles<L extends string>(gauge: Gauge<L>, percentiles: { p50: number | null; p95: number | null; p99: number | null }, labels: Partial<Record<L, string>>): void {
  for (const [quantile, value] of [['0.5', percentiles.p50], ['0.95', percentiles.p95], ['0.99', percentiles.p99]] as const) {
    if (value !== null) gauge.set({ ...labels, quantile } as never, value);
  }
}
