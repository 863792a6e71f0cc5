import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ConsumerGroupRuntime, ConsumerMetrics } from '@video-pipeline/consumer';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { createEvent, eventCatalog } from '@video-pipeline/events';
import { createKafka, topicSpecs } from '@video-pipeline/kafka';
import { writeToOutbox } from '@video-pipeline/outbox';
import { TargetGuard, defaultDeliveryPolicy, parseAllowedTargets, newSigningSecret } from '@video-pipeline/webhooks';
import { notificationsHandlers } from '../services/notifications/src/handlers';
import { WebhookDispatcher } from '../services/notifications/src/webhook-dispatcher';
import { createTopics, startRelay } from '../test/support/pipeline';
import { benchPrefix } from './support/environment';
import { measurement, type Benchmark } from './support/report';
import { distribution, median, round } from './support/stats';

const SUBSCRIPTIONS = 100;
const TARGET_RATIO = 1.2;
const OWNER = 'bench-owner';

type Variant = 'healthy' | 'with-dead';

/**
 * Webhook fan-out through the whole path: an event committed to the outbox,
 * relayed to Kafka, fanned out by the notifications group to 100
 * subscriptions (deliveries written in its transaction), sent by the
 * dispatcher to a local receiver. Latency: the outbox commit returning →
 * the receiver reading the request, per delivery. Rounds alternate between
 * 100 healthy endpoints and the same plus one that never answers (5 s
 * timeout, retried by the schedule); the verdict compares the healthy
 * endpoints' p99 between the two. Deliveries/s from a burst of events at
 * once, all healthy.
 */
export const webhookFanout: Benchmark = {
  name: 'webhook-fanout',
  summary: 'webhook deliveries to 100 subscriptions, outbox commit → local receiver: p99 with one dead endpoint among them vs without; deliveries/s on a burst',
  async run(env, options) {
    const prefix = benchPrefix('webhooks');
    const config = env.config(prefix, { WEBHOOK_ALLOWED_TARGETS: '127.0.0.1' });
    const kafka = createKafka(config.kafka, env.logger);
    const prisma = createPrismaClient({ databaseUrl: config.database.url, poolMax: 12 });
    const eventTopics = new Set<string>(Object.values(eventCatalog).map((entry) => entry.topic));
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => eventTopics.has(spec.name) || spec.name.startsWith('notifications.')));
    const receiver = await startReceiver();
    const relay = await startRelay(config);
    const runtime = new ConsumerGroupRuntime({
      group: 'notifications',
      kafka,
      prisma,
      logger: env.logger,
      topicPrefix: prefix,
      metrics: new ConsumerMetrics(),
      handlers: notificationsHandlers,
    });
    // As deployed: woken by the deliveries' NOTIFY.
    const dispatcher = new WebhookDispatcher({ prisma, guard: new TargetGuard(parseAllowedTargets(['127.0.0.1'])), policy: defaultDeliveryPolicy, databaseUrl: env.databaseUrl, logger: env.logger });
    await runtime.start();
    dispatcher.start();
    try {
      const rounds: { variant: Variant; p50: number; p99: number; deliveries: number }[] = [];
      const order: Variant[] = [];
      for (let i = 0; i < options.webhookRounds; i++) order.push(...((i % 2 === 0 ? ['healthy', 'with-dead'] : ['with-dead', 'healthy']) as Variant[]));
      // Warm-up: connections, the group's first fetches, the planner.
      // A steady rate the machine keeps up with, so latency is not queueing; deliveries/s is measured on a burst apart.
      const rate = 1000 / options.webhookIntervalMs;
      await fanOutRound(env, prisma, receiver, prefix, 'healthy', 3, rate);
      for (const variant of order) {
        const result = await fanOutRound(env, prisma, receiver, prefix, variant, options.webhookEvents, rate);
        env.progress(`  ${variant}: ${result.deliveries} healthy deliveries, p50 ${result.p50} ms, p99 ${result.p99} ms`);
        rounds.push({ variant, ...result });
      }
      const burst = await fanOutRound(env, prisma, receiver, prefix, 'healthy', options.webhookEvents, Infinity);
      env.progress(`  burst: ${burst.deliveries} deliveries in ${burst.spanMs} ms`);

      const p99Of = (variant: Variant) => median(rounds.filter((r) => r.variant === variant).map((r) => r.p99));
      const healthyP99 = p99Of('healthy');
      const deadP99 = p99Of('with-dead');
      const ratio = deadP99 / healthyP99;
      const perSecond = (burst.deliveries / burst.spanMs) * 1000;
      return {
        measurements: [
          measurement('p99, one dead endpoint among 100 (vs 100 healthy)', 'ms', deadP99, healthyP99),
          measurement('p50, 100 healthy endpoints', 'ms', median(rounds.filter((r) => r.variant === 'healthy').map((r) => r.p50))),
          measurement(`deliveries/s, a burst of ${options.webhookEvents} events × ${SUBSCRIPTIONS}`, '/s', perSecond),
          measurement('p99 of the burst, commit → delivery', 'ms', burst.p99),
        ],
        target: { description: `healthy endpoints' p99 with a dead one ≤ ${TARGET_RATIO}× without`, met: ratio <= TARGET_RATIO },
        findings: [
          `rounds (median of each variant's p99): ${rounds.map((r) => `${r.variant} ${r.p99} ms`).join(', ')}`,
          `an event every ${options.webhookIntervalMs} ms in the latency rounds, each to ${SUBSCRIPTIONS} subscriptions; dispatcher concurrency 32, woken by the deliveries' NOTIFY (poll 1 s), one attempt per endpoint at a time`,
          'latency includes the outbox relay (NOTIFY), the consumer group, the fan-out commit and the dispatcher; the dead endpoint hangs each attempt for the 5 s timeout',
        ],
        details: { rounds, burst: { deliveries: burst.deliveries, spanMs: burst.spanMs, p50: burst.p50, p99: burst.p99 } },
      };
    } finally {
      await dispatcher.stop();
      await runtime.stop();
      await relay.close();
      await receiver.close();
      await prisma.$disconnect();
    }
  },
};

interface Receiver {
  port: number;
  /** webhook-id → receive times (performance.now()) of the healthy paths. */
  onDelivery?: (webhookId: string, path: string, at: number) => void;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>();
  const receiver: Receiver = { port: 0, close: async () => undefined };
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      if (req.url === '/dead') {
        hanging.add(res);
        return;
      }
      receiver.onDelivery?.(String(req.headers['webhook-id']), req.url ?? '', at);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return receiver;
}

/** One round: fresh subscriptions, `events` events committed at `rate`/s, until every healthy delivery arrived. */
async function fanOutRound(
  env: Parameters<Benchmark['run']>[0],
  prisma: PrismaClient,
  receiver: Receiver,
  prefix: string,
  variant: Variant,
  events: number,
  rate: number,
): Promise<{ p50: number; p99: number; deliveries: number; spanMs: number }> {
  await prisma.webhookSubscription.deleteMany({ where: { ownerId: OWNER } });
  const subscriptions = Array.from({ length: SUBSCRIPTIONS }, (_, i) => ({ id: randomUUID(), ownerId: OWNER, url: `http://127.0.0.1:${receiver.port}/hook/${i}`, events: ['video.ready'], secret: newSigningSecret() }));
  if (variant === 'with-dead') subscriptions.push({ id: randomUUID(), ownerId: OWNER, url: `http://127.0.0.1:${receiver.port}/dead`, events: ['video.ready'], secret: newSigningSecret() });
  await prisma.webhookSubscription.createMany({ data: subscriptions });

  const committedAt = new Map<string, number>();
  const latencies: number[] = [];
  const expected = events * SUBSCRIPTIONS;
  let lastAt = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  receiver.onDelivery = (webhookId, _path, at) => {
    const committed = committedAt.get(webhookId);
    if (committed === undefined) return; // an earlier round's retry
    latencies.push(at - committed);
    lastAt = at;
    if (latencies.length === expected) resolveAll();
  };
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    if (Number.isFinite(rate)) await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i * 1000) / rate - performance.now())));
    const videoId = randomUUID();
    const now = new Date();
    const event = createEvent('video.ready', {
      source: '/video-pipeline/bench',
      subject: videoId,
      data: { schemaVersion: 1, videoId, ownerId: OWNER, title: null, durationSeconds: 10, masterPlaylistKey: `videos/${videoId}/hls/master.m3u8`, renditions: [{ name: '240p', width: 426, height: 240 }], uploadedAt: now.toISOString(), readyAt: now.toISOString() },
    });
    await prisma.$transaction([writeToOutbox(prisma, event, prefix)]);
    committedAt.set(event.id, performance.now());
  }
  const timeout = setTimeout(resolveAll, 120_000);
  await all;
  clearTimeout(timeout);
  receiver.onDelivery = undefined;
  if (latencies.length < expected) env.progress(`  ${variant}: only ${latencies.length} of ${expected} deliveries within 2 min`);
  const stats = distribution(latencies);
  return { p50: round(stats.p50, 1), p99: round(stats.p99, 1), deliveries: latencies.length, spanMs: Math.round(lastAt - started) };
}
