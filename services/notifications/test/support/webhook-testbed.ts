import type { Kafka, Producer } from 'kafkajs';
import type { PipelineConfig } from '@video-pipeline/config';
import { ConsumerGroupRuntime, ConsumerMetrics } from '@video-pipeline/consumer';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { eventCatalog, toKafkaRecord, type CloudEvent } from '@video-pipeline/events';
import { createKafka, createProducer, topicSpecs } from '@video-pipeline/kafka';
import { TargetGuard, defaultDeliveryPolicy, parseAllowedTargets, type DeliveryPolicy } from '@video-pipeline/webhooks';
import { notificationsHandlers } from '../../src/handlers';
import { WebhookDispatcher, type WebhookDispatcherOptions } from '../../src/webhook-dispatcher';
import { API_KEY, createTopics, startUploadApi, testLogger, type RunningApi } from '../../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../../test/support/test-env';
import { Receiver } from './receiver';

/** A delivery schedule that fits in a test: retries after 0.3 s, no jitter, a 2 s timeout. */
export const fastDeliveryPolicy: DeliveryPolicy = { ...defaultDeliveryPolicy, timeoutMs: 2_000, retryDelaysMs: [300, 300, 300], jitter: 0 };

/**
 * One test file's notifications world on the real broker and database: its
 * topics (own prefix), the group's runtime, a dispatcher, the upload API to
 * subscribe through, and a local receiver (127.0.0.1 allowed).
 */
export class WebhookTestbed {
  readonly receiver = new Receiver();
  readonly config: PipelineConfig;
  readonly kafka: Kafka;
  readonly producer: Producer;
  readonly prisma: PrismaClient;
  api!: RunningApi;
  runtime!: ConsumerGroupRuntime;
  dispatcher!: WebhookDispatcher;

  constructor(name: string, env: NodeJS.ProcessEnv = {}) {
    const prefix = uniquePrefix(name);
    this.config = testConfig(prefix, { WEBHOOK_ALLOWED_TARGETS: '127.0.0.1', ...env });
    this.kafka = createKafka(this.config.kafka, testLogger(), { retry: { initialRetryTime: 100, retries: 8 } });
    this.producer = createProducer(this.kafka);
    this.prisma = createPrismaClient({ databaseUrl: this.config.database.url, poolMax: 6 });
  }

  async start(policy: DeliveryPolicy = fastDeliveryPolicy, dispatcher: Pick<WebhookDispatcherOptions, 'concurrency' | 'pollMs' | 'databaseUrl' | 'registry'> = {}): Promise<this> {
    const eventTopics = new Set<string>(Object.values(eventCatalog).map((entry) => entry.topic));
    const specs = topicSpecs.filter((spec) => eventTopics.has(spec.name) || spec.name.startsWith('notifications.'));
    await Promise.all([createTopics(this.kafka, this.config.kafka.topicPrefix, specs), this.producer.connect(), this.receiver.start()]);
    // alice and bob (API_KEY, OTHER_API_KEY) are every suite's owners, and CI's database is shared: an endpoint an earlier suite left
    // subscribed would get a delivery of this suite's events too (CI once counted one too many).
    await this.prisma.webhookSubscription.deleteMany({ where: { ownerId: { in: ['alice', 'bob'] } } });
    this.api = await startUploadApi(this.config);
    this.runtime = new ConsumerGroupRuntime({
      group: 'notifications',
      kafka: this.kafka,
      prisma: this.prisma,
      logger: testLogger(),
      topicPrefix: this.config.kafka.topicPrefix,
      metrics: new ConsumerMetrics(),
      fetchMaxWaitMs: 100,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      handlers: notificationsHandlers,
    });
    await this.runtime.start();
    this.dispatcher = new WebhookDispatcher({
      prisma: this.prisma,
      guard: new TargetGuard(parseAllowedTargets(this.config.webhooks.allowedTargets)),
      policy,
      logger: testLogger(),
      pollMs: 50,
      shutdownGraceMs: 1_000,
      ...dispatcher,
    });
    this.dispatcher.start();
    return this;
  }

  /** Publishes events to their topics as the relay does. */
  async publish(...events: CloudEvent[]): Promise<void> {
    for (const event of events) {
      const { topic, ...message } = toKafkaRecord(event, this.config.kafka.topicPrefix);
      await this.producer.send({ topic, acks: -1, messages: [message] });
    }
  }

  /** Calls the upload API with an owner's key; answers status and JSON body. */
  async call(method: string, path: string, body?: unknown, key = API_KEY): Promise<{ status: number; body: any }> {
    const response = await fetch(this.api.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  async subscribe(url: string, events: string[], key = API_KEY): Promise<{ id: string; secret: string }> {
    const { status, body } = await this.call('POST', '/v1/webhooks', { url, events }, key);
    if (status !== 201) throw new Error(`subscribing answered ${status}: ${JSON.stringify(body)}`);
    return body;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.dispatcher?.stop(), this.runtime?.stop()]);
    await Promise.allSettled([this.api?.close(), this.receiver.close(), this.producer.disconnect(), this.prisma.$disconnect()]);
  }
}
