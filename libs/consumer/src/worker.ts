import type { Registry } from 'prom-client';
import { loadConfig, type PipelineConfig } from '@video-pipeline/config';
import { createPrismaClient, type CreatePrismaClientOptions, type PrismaClient } from '@video-pipeline/db';
import type { ConsumerGroupName } from '@video-pipeline/events';
import { startHealthServer, stopOnSignals } from '@video-pipeline/health';
import { createKafka } from '@video-pipeline/kafka';
import { createLogger, type Logger } from '@video-pipeline/logging';
import { ConsumerGroupRuntime, type ConsumerGroupOptions } from './consumer-group';
import type { EventHandlers } from './handlers';
import { ConsumerMetrics } from './metrics';
import { DEFAULT_COMMIT_TIMEOUT_MS, ProcessedEvents } from './processed-events';
import { RecordPruner } from './record-pruning';

export interface WorkerDeps {
  config: PipelineConfig;
  prisma: PrismaClient;
  logger: Logger;
}

/** Runtime settings a service may tune; the rest come from the config. */
export type WorkerTuning = Partial<
  Pick<ConsumerGroupOptions, 'retryPolicy' | 'partitionsConcurrently' | 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'rebalanceTimeoutMs' | 'handlerTimeoutMs' | 'shutdownGraceMs' | 'fetchMaxWaitMs' | 'commitTimeoutMs'>
>;

/**
 * What a consumer-group service's `main` runs: reads the config, runs the
 * group's handlers on the shared runtime, serves /healthz, /readyz and
 * /metrics, prunes the group's idempotency records now and then, and on
 * SIGTERM or SIGINT stops cleanly. Resolves once it has stopped; rejects if
 * it could not start, could not stop cleanly, or the consumer crashed in a
 * way kafkajs does not recover from. Exiting (0 or 1) is for `main`:
 *
 *     runConsumerWorker('transcoder', makeHandlers).then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
 */
export async function runConsumerWorker(
  group: ConsumerGroupName,
  makeHandlers: (deps: WorkerDeps) => EventHandlers,
  { registry, ...tuning }: WorkerTuning & { /** The registry /metrics serves, for a service that adds metrics of its own. */ registry?: Registry } = {},
): Promise<void> {
  const config = loadConfig(process.env, group);
  const logger = createLogger(group, { level: config.logLevel });
  const prisma = createWorkerPrismaClient({ databaseUrl: config.database.url, commitTimeoutMs: tuning.commitTimeoutMs });
  const kafka = createKafka(config.kafka, logger);
  const metrics = new ConsumerMetrics(registry, { defaultMetrics: true });
  const runtime = new ConsumerGroupRuntime({
    group,
    handlers: makeHandlers({ config, prisma, logger }),
    kafka,
    prisma,
    logger,
    metrics,
    topicPrefix: config.kafka.topicPrefix,
    ...tuning,
  });

  let joined = false;
  runtime.on(runtime.events.GROUP_JOIN, () => {
    joined = true;
  });
  // kafkajs restarts the consumer itself after retriable crashes; otherwise the supervisor restarts the worker.
  const crashed = new Promise<never>((_, reject) => {
    runtime.on(runtime.events.CRASH, ({ payload }) => {
      joined = false;
      if (payload.restart) return;
      logger.fatal({ err: payload.error }, 'consumer crashed for good; exiting so the supervisor restarts it');
      reject(payload.error);
    });
  });

  const health = await startHealthServer({
    port: config.metricsPort,
    registry: metrics.registry,
    checks: {
      database: () => prisma.$queryRaw`SELECT 1`,
      group: async () => {
        if (!joined) throw new Error('not a member of the consumer group yet');
      },
    },
  });

  const pruneEveryMs = config.idempotencyPruneEveryHours * 60 * 60 * 1000;
  const pruner = pruneEveryMs > 0 ? new RecordPruner({ store: new ProcessedEvents(prisma, runtime.groupId), group, logger, metrics, everyMs: pruneEveryMs }) : undefined;

  const stopped = stopOnSignals(logger, 'letting in-flight events finish', async () => {
    await Promise.all([runtime.stop(), pruner?.stop()]);
    await Promise.allSettled([health.close(), prisma.$disconnect()]);
  });

  await runtime.start();
  pruner?.start();
  logger.info({ healthPort: health.port, topics: runtime.topics }, 'worker running');
  await Promise.race([stopped, crashed]);
}

/**
 * A worker's database client. No statement of it waits for a lock, and no
 * transaction of it stays open idle, for longer than a commit may take: a
 * lock held elsewhere fails the commit (`commit_timeout`, retried later)
 * instead of holding the partition, and a worker frozen mid-commit holds its
 * locks for no longer than that.
 */
export function createWorkerPrismaClient({ commitTimeoutMs = DEFAULT_COMMIT_TIMEOUT_MS, ...options }: Omit<CreatePrismaClientOptions, 'lockTimeoutMs' | 'idleInTransactionTimeoutMs'> & Pick<WorkerTuning, 'commitTimeoutMs'>): PrismaClient {
  return createPrismaClient({ ...options, lockTimeoutMs: commitTimeoutMs, idleInTransactionTimeoutMs: commitTimeoutMs });
}
