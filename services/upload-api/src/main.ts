import path from 'node:path';
import { loadConfig } from '@video-pipeline/config';
import { createPrismaClient } from '@video-pipeline/db';
import { createKafka } from '@video-pipeline/kafka';
import { stopOnSignals } from '@video-pipeline/health';
import { createLogger } from '@video-pipeline/logging';
import { ObjectStorage, createPresignerClient, createS3Client } from '@video-pipeline/storage';
import { buildUploadApi } from './app';
import { isWebAppBuilt } from './http/web-app';
import { lifecycleApiDeps } from './lifecycle';
import { IdempotencyKeys } from './uploads/idempotency';
import { PendingUploads } from './uploads/pending-uploads';
import { PostgresLocker } from './uploads/tus-locker';
import { UploadSweeper } from './uploads/sweeper';
import { VideoRepository } from './video-repository';
import { WebhookRepository } from './webhook-repository';
import { systemClock } from '@video-pipeline/retry';
import { TargetGuard, deliveryPolicyFrom, parseAllowedTargets } from '@video-pipeline/webhooks';
import { analyticsSummary } from '@video-pipeline/analytics-queries';

/** How often each API instance sweeps expired uploads. */
const UPLOAD_SWEEP_INTERVAL_MS = 10 * 60 * 1000;

async function main(): Promise<void> {
  const config = loadConfig(process.env, 'upload-api');
  const logger = createLogger('upload-api', { level: config.logLevel });
  if (config.api.apiKeys.size === 0) logger.warn('API_KEYS is empty: every request will be refused with 401');

  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  const storage = new ObjectStorage(createS3Client(config.storage), config.storage.bucket);
  await storage.ensureBucket();
  const admin = createKafka(config.kafka, logger, { retry: { retries: 0 } }).admin();
  const videos = new VideoRepository(prisma, { eventSource: '/video-pipeline/upload-api', topicPrefix: config.kafka.topicPrefix });

  const webAppDir = path.resolve(__dirname, '../../web/dist');
  if (!isWebAppBuilt(webAppDir)) logger.warn({ webAppDir }, 'the web app is not built (npm run build:web): only the API is served');
  const lifecycle = lifecycleApiDeps(config, { prisma, storage, logger, eventSource: '/video-pipeline/upload-api' });

  // One locker for tus' requests and the sweeper: they take turns on an upload across every instance.
  const tusLocker = new PostgresLocker({ databaseUrl: config.database.url, logger });
  const api = buildUploadApi({
    lifecycle,
    videos,
    webhooks: {
      repository: new WebhookRepository(prisma),
      guard: new TargetGuard(parseAllowedTargets(config.webhooks.allowedTargets)),
      policy: deliveryPolicyFrom(config.webhooks),
      clock: systemClock,
    },
    analytics: { summary: (scope) => analyticsSummary(prisma, { ...scope, factsOf: config.kafka.topicPrefix + 'analytics' }), clock: systemClock },
    storage,
    apiKeys: config.api.apiKeys,
    adminApiKeys: config.api.adminApiKeys,
    maxUploadBytes: config.api.maxUploadBytes,
    presigner: createPresignerClient({ ...config.storage, endpoint: config.uploads.publicS3Endpoint }),
    uploads: {
      pending: new PendingUploads(prisma, { quotas: config.uploads.quotas, expiryMs: config.uploads.expiryMs }),
      idempotency: new IdempotencyKeys(prisma),
      config: config.uploads,
      storageConfig: config.storage,
      tusLocker,
    },
    corsOrigins: config.api.corsOrigins,
    webAppDir: isWebAppBuilt(webAppDir) ? webAppDir : undefined,
    logger,
    readinessChecks: {
      database: () => videos.ping(),
      storage: () => storage.ping(),
      // Uploads do not need Kafka (events wait in the outbox), but operators want to know.
      kafka: async () => {
        await admin.connect();
        await admin.describeCluster();
      },
    },
  });

  // Abandoned uploads are swept by every instance in turn; instances claim different uploads (SKIP LOCKED).
  const sweeper = new UploadSweeper({ prisma, storage, idempotency: new IdempotencyKeys(prisma), locker: tusLocker, logger, changeLogRetentionMs: config.uploads.changeLogRetentionMs });
  const sweeping = setInterval(() => {
    sweeper.sweep().catch((error: unknown) => logger.error({ err: error }, 'could not sweep expired uploads'));
  }, UPLOAD_SWEEP_INTERVAL_MS);
  sweeping.unref();

  const stopped = stopOnSignals(logger, 'finishing in-flight uploads', async () => {
    clearInterval(sweeping);
    await api.close();
    await Promise.allSettled([admin.disconnect(), prisma.$disconnect()]);
  });

  const { address, port } = await api.listen({ host: config.api.host, port: config.api.port });
  logger.info({ address: `http://${address.includes(':') ? `[${address}]` : address}:${port}` }, 'upload API listening');
  await stopped;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
