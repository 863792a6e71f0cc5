import { Registry } from 'prom-client';
import { registerAnalyticsMetrics } from '@video-pipeline/analytics-queries';
import { runConsumerWorker } from '@video-pipeline/consumer';
import { startHealthServer } from '@video-pipeline/health';
import { analyticsHandlers } from './handlers';

// The group records a fact per event; beside it, a metrics server turns the facts into the pipeline's numbers for dashboards.
runConsumerWorker('analytics', ({ config, prisma, logger }) => {
  const registry = new Registry();
  registerAnalyticsMetrics(registry, prisma, config.kafka.topicPrefix + 'analytics');
  void startHealthServer({ port: config.analyticsMetricsPort, registry, checks: { database: () => prisma.$queryRaw`SELECT 1` } }).then(
    (server) => logger.info({ analyticsMetricsPort: server.port }, 'the pipeline\'s numbers are served as Prometheus gauges at /metrics'),
    (error: unknown) => logger.error({ err: error }, 'could not serve the analytics gauges'),
  );
  return analyticsHandlers;
}).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
