import { loadConfig } from '@video-pipeline/config';
import { createPrismaClient } from '@video-pipeline/db';
import { createKafka, createProducer } from '@video-pipeline/kafka';
import { startHealthServer, stopOnSignals } from '@video-pipeline/health';
import { createLogger } from '@video-pipeline/logging';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { BrokerTopics } from './broker-topics';
import { OutboxListener } from './outbox-listener';
import { OutboxRelay } from './outbox-relay';

async function main(): Promise<void> {
  const config = loadConfig(process.env, 'outbox-relay');
  const logger = createLogger('outbox-relay', { level: config.logLevel });
  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  const kafka = createKafka(config.kafka, logger, { retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: 5 } });
  const producer = createProducer(kafka);

  const admin = kafka.admin();

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = new BrokerTopics(kafka.admin());
  const relay = new OutboxRelay(prisma, producer, topics, logger, undefined, registry);
  const listener = new OutboxListener(config.database.url, () => relay.wake(), logger);
  await listener.start();
  relay.start();
  // What it needs to publish: the outbox's database and the brokers.
  const health = await startHealthServer({
    port: config.metricsPort,
    registry,
    checks: {
      database: () => prisma.$queryRaw`SELECT 1`,
      kafka: async () => {
        await admin.connect();
        await admin.describeCluster();
      },
    },
  });
  logger.info({ healthPort: health.port }, 'outbox relay running');

  await stopOnSignals(logger, 'finishing the batch in flight', async () => {
    await listener.stop();
    await relay.stop();
    await Promise.allSettled([health.close(), admin.disconnect(), topics.close(), prisma.$disconnect()]);
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
