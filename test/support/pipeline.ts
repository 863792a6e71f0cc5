import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { PipelineConfig } from '@video-pipeline/config';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { createKafka, createProducer, ensureTopics, topicSpecs, type TopicSpec } from '@video-pipeline/kafka';
import { createLogger, type Logger } from '@video-pipeline/logging';
import { ObjectStorage, createPresignerClient, createS3Client } from '@video-pipeline/storage';
import { buildUploadApi, type UploadApi, type UploadApiDeps } from '../../services/upload-api/src/app';
import { VideoRepository } from '../../services/upload-api/src/video-repository';
import { BrokerTopics } from '../../services/outbox-relay/src/broker-topics';
import { WebhookRepository } from '../../services/upload-api/src/webhook-repository';
import { systemClock } from '@video-pipeline/retry';
import { TargetGuard, deliveryPolicyFrom, parseAllowedTargets } from '@video-pipeline/webhooks';
import { lifecycleApiDeps, type LifecycleApiDeps } from '../../services/upload-api/src/lifecycle';
import { analyticsSummary } from '@video-pipeline/analytics-queries';
import { IdempotencyKeys } from '../../services/upload-api/src/uploads/idempotency';
import { PendingUploads } from '../../services/upload-api/src/uploads/pending-uploads';
import { PostgresLocker } from '../../services/upload-api/src/uploads/tus-locker';
import { OutboxListener } from '../../services/outbox-relay/src/outbox-listener';
import { OutboxRelay, defaultRelayOptions } from '../../services/outbox-relay/src/outbox-relay';

export const API_KEY = 'test-key-alice';
export const OTHER_API_KEY = 'test-key-bob';
/** An admin's key (ADMIN_API_KEYS): the reviewer `rita`. */
export const ADMIN_API_KEY = 'test-admin-key';

export function testLogger(): Logger {
  return createLogger('test', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/** Creates the prefixed topics a test needs (all of them by default). */
export async function createTopics(kafka: Kafka, prefix: string, specs: readonly TopicSpec[] = topicSpecs): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, specs, prefix);
  } finally {
    await admin.disconnect();
  }
}

export interface RunningApi {
  app: UploadApi;
  baseUrl: string;
  port: number;
  storage: ObjectStorage;
  prisma: PrismaClient;
  /** Playback tokens, the change feed, ... (the lifecycle's routes). */
  lifecycle: LifecycleApiDeps;
  /**
   * Removes an uploaded video: its object, its row and its outbox event. A
   * test without a relay must: relays of later tests publish every unpublished
   * event, and one for a topic that is gone holds up all the others.
   */
  removeVideo(video: { id: string; object: { key: string } }): Promise<void>;
  close(): Promise<void>;
}

/** The upload API in-process, on a free port, against the test stack. */
export async function startUploadApi(
  config: PipelineConfig,
  options: { maxUploadBytes?: number; logger?: Logger; webhookGuard?: TargetGuard; apiKeys?: ReadonlyMap<string, string>; tusLockTimeoutMs?: number } & Pick<UploadApiDeps, 'corsOrigins' | 'discardLimits' | 'webAppDir'> = {},
): Promise<RunningApi> {
  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  const storage = new ObjectStorage(createS3Client(config.storage), config.storage.bucket);
  await storage.ensureBucket();
  const videos = new VideoRepository(prisma, { eventSource: '/video-pipeline/test', topicPrefix: config.kafka.topicPrefix });
  const lifecycle = lifecycleApiDeps(config, { prisma, storage, logger: options.logger ?? testLogger(), eventSource: '/video-pipeline/test' });
  const app = buildUploadApi({
    lifecycle,
    videos,
    webhooks: {
      repository: new WebhookRepository(prisma),
      guard: options.webhookGuard ?? new TargetGuard(parseAllowedTargets(config.webhooks.allowedTargets)),
      policy: deliveryPolicyFrom(config.webhooks),
      clock: systemClock,
    },
    analytics: { summary: (scope) => analyticsSummary(prisma, { ...scope, factsOf: config.kafka.topicPrefix + 'analytics' }), clock: systemClock },
    storage,
    apiKeys:
      options.apiKeys ??
      new Map([
        [API_KEY, 'alice'],
        [OTHER_API_KEY, 'bob'],
      ]),
    adminApiKeys: new Map([[ADMIN_API_KEY, 'rita']]),
    maxUploadBytes: options.maxUploadBytes ?? config.api.maxUploadBytes,
    presigner: createPresignerClient({ ...config.storage, endpoint: config.uploads.publicS3Endpoint }),
    uploads: {
      pending: new PendingUploads(prisma, { quotas: config.uploads.quotas, expiryMs: config.uploads.expiryMs }),
      idempotency: new IdempotencyKeys(prisma),
      config: config.uploads,
      storageConfig: config.storage,
      tusLocker: new PostgresLocker({ databaseUrl: config.database.url, logger: options.logger ?? testLogger(), acquireTimeoutMs: options.tusLockTimeoutMs }),
    },
    logger: options.logger ?? testLogger(),
    readinessChecks: { database: () => videos.ping(), storage: () => storage.ping() },
    corsOrigins: options.corsOrigins,
    discardLimits: options.discardLimits,
    webAppDir: options.webAppDir,
  });
  const { port } = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    storage,
    prisma,
    lifecycle,
    removeVideo: async (video) => {
      await storage.deleteObject(video.object.key);
      await prisma.outboxEvent.deleteMany({ where: { key: video.id } });
      await prisma.video.deleteMany({ where: { id: video.id } });
    },
    close: async () => {
      await app.close();
      await prisma.$disconnect();
    },
  };
}

export interface RunningRelay {
  relay: OutboxRelay;
  close(): Promise<void>;
}

/** The outbox relay in-process: LISTEN/NOTIFY wake-ups plus its poll. */
export async function startRelay(
  config: PipelineConfig,
  options: Partial<typeof defaultRelayOptions> & { wrapProducer?: (producer: Producer) => Producer; registry?: Registry } = {},
): Promise<RunningRelay> {
  const logger = testLogger();
  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  const kafka = createKafka(config.kafka, logger, { retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 } });
  const { wrapProducer = (producer: Producer) => producer, registry, ...relayOptions } = options;
  const producer = wrapProducer(createProducer(kafka));
  const topics = new BrokerTopics(kafka.admin());
  const relay = new OutboxRelay(prisma, producer, topics, logger, { ...defaultRelayOptions, ...relayOptions }, registry);
  const listener = new OutboxListener(config.database.url, () => relay.wake(), logger);
  await listener.start();
  relay.start();
  return {
    relay,
    close: async () => {
      await listener.stop();
      await relay.stop();
      await topics.close();
      await prisma.$disconnect();
    },
  };
}

/** Polls `probe` until it returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
