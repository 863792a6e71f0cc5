import { Registry } from 'prom-client';
import { registerAnalyticsMetrics } from '@video-pipeline/analytics-queries';
import { runConsumerWorker } from '@video-pipeline/consumer';
import { analyticsHandlers } from './handlers';

// The group records a fact per event; the worker's own /metrics (METRICS_PORT) turns the facts into the pipeline's numbers
// for dashboards, beside the consumer runtime's figures: one registry, one scrape.
const registry = new Registry();
runConsumerWorker(
  'analytics',
  ({ config, prisma }) => {
    registerAnalyticsMetrics(registry, prisma, config.kafka.topicPrefix + 'analytics');
    return analyticsHandlers;
  },
  { registry },
).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
