import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks';
import type { ConsumerConfig, Kafka } from 'kafkajs';
import { ConsumerGroupRuntime, ConsumerMetrics } from '@video-pipeline/consumer';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { createEvent, fromKafkaRecord, toKafkaRecord } from '@video-pipeline/events';
import { createKafka, createProducer, retryTierDelaysMs, retryTopic } from '@video-pipeline/kafka';
import { createTopics } from '../test/support/pipeline';
import { withCleanup } from './support/cleanup';
import { benchPrefix, type BenchEnv } from './support/environment';
import { startConsumer, videoUploadedSpec, waitFor } from './support/kafka';
import { CpuMeter, type CpuUse } from './support/proc';
import { measurement, type Benchmark } from './support/report';
import { median, round } from './support/stats';
import { otherEventsIgnored } from '../test/support/events';

const TARGET_RATIO = 0.5;
const PREFILL_CHUNK = 2_000;
/** Settings the runtime gives its kafkajs consumer (consumer-group.ts); the bare consumers get the same, so the ratio is the runtime's own cost. */
const SHARED_CONSUMER_SETTINGS = { maxBytesPerPartition: 1024 * 1024 } satisfies Partial<ConsumerConfig>;
const RUNTIME_PARTITIONS_CONCURRENTLY = 3;

type VariantName = 'bare-eachMessage' | 'bare-eachBatch' | 'bare-eachMessage-decoding' | 'runtime' | 'runtime-no-idempotency-db';

interface VariantRun {
  variant: VariantName;
  round: number;
  elapsedMs: number;
  eventsPerSecond: number;
  /** CPU of the bench process per event: less sensitive to other work on the machine than events/s. */
  cpuMicrosPerEvent: number;
  /** CPU of all Postgres processes per event: the idempotency records' cost on the server side, taken from the same cores. */
  postgresCpuMicrosPerEvent: number;
  /** Cores the whole machine kept busy meanwhile (2 = saturated). */
  machineBusyCores: number;
  /** Share of the drain this process' event loop was busy (1 = it never waited for I/O). */
  eventLoopBusy: number;
  /** Garbage-collection pauses of this process per event. */
  gcMicrosPerEvent: number;
}

interface Drain {
  elapsedMs: number;
  cpu: Record<string, CpuUse>;
  eventLoopBusy: number;
  gcMs: number;
}

/** Wall time, CPU, event-loop use and GC pauses from the first record handled to the last. */
class DrainClock {
  private startedAt?: number;
  private meter?: CpuMeter;
  private eventLoop?: EventLoopUtilization;
  private gcMs = 0;
  private readonly gcPauses = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcMs += entry.duration;
  });

  /** Call for every record (or batch) handled; only the first call counts. */
  start(at = performance.now()): void {
    if (this.startedAt !== undefined) return;
    this.startedAt = at;
    this.meter = new CpuMeter({}, { postgres: 'postgres' });
    this.eventLoop = performance.eventLoopUtilization();
    this.gcPauses.observe({ entryTypes: ['gc'] });
  }

  finish(at = performance.now()): Drain {
    if (this.startedAt === undefined || !this.meter) throw new Error('no record was handled');
    // Entries still queued for the observer's callback are taken here, so none is lost.
    for (const entry of this.gcPauses.takeRecords()) this.gcMs += entry.duration;
    this.gcPauses.disconnect();
    return { elapsedMs: at - this.startedAt, cpu: this.meter.stop(), eventLoopBusy: performance.eventLoopUtilization(this.eventLoop).utilization, gcMs: this.gcMs };
  }
}

interface Context {
  env: BenchEnv;
  kafka: Kafka;
  prefix: string;
  topic: string;
  events: number;
}

/**
 * One pre-filled `video.uploaded` topic (6 partitions) drained by each
 * consumer variant in a fresh group, timed from the first record handled to
 * the last: bare kafkajs (eachMessage and eachBatch, no-op) and the
 * ConsumerGroupRuntime with a no-op handler, once with its idempotency
 * records in Postgres and once with an in-memory stand-in for Prisma.
 */
export const consumerThroughput: Benchmark = {
  name: 'consumer-throughput',
  summary: 'events/s of ConsumerGroupRuntime (no-op handler) vs bare kafkajs consumers draining the same pre-filled topic',
  async run(env, options) {
    const prefix = benchPrefix('consumer');
    const config = env.config(prefix);
    const kafka = createKafka(config.kafka, env.logger);
    const topic = prefix + videoUploadedSpec.name;
    await createTopics(kafka, prefix, [videoUploadedSpec]);

    return withCleanup(async (cleanup) => {
      const prisma = createPrismaClient({ databaseUrl: env.databaseUrl });
      cleanup.defer('disconnect prisma', () => prisma.$disconnect());
      env.progress(`consumer-throughput: pre-filling ${topic} with ${options.consumerEvents} events`);
      await prefill(kafka, topic, options.consumerEvents);

      const context: Context = { env, kafka, prefix, topic, events: options.consumerEvents };
      const variants: Record<VariantName, (pass: number) => Promise<Drain>> = {
        'bare-eachMessage': (pass) => drainBare(context, 'eachMessage', `bare-each-message-${pass}`),
        'bare-eachBatch': (pass) => drainBare(context, 'eachBatch', `bare-each-batch-${pass}`),
        'bare-eachMessage-decoding': (pass) => drainBare(context, 'eachMessage-decoding', `bare-each-message-decoding-${pass}`),
        runtime: (pass) => drainRuntime(context, `bench-runtime-${pass}`, prisma),
        'runtime-no-idempotency-db': (pass) => drainRuntime(context, `bench-runtime-nodb-${pass}`, inMemoryPrisma()),
      };
      const names = Object.keys(variants) as VariantName[];

      const runs: VariantRun[] = [];
      for (let pass = 0; pass < options.consumerRounds; pass++) {
        // Each round starts one variant later, so no variant always runs first or last.
        const order = names.map((_, index) => names[(index + pass) % names.length]!);
        for (const variant of order) {
          env.progress(`consumer-throughput: round ${pass + 1}/${options.consumerRounds}, ${variant}`);
          const { elapsedMs, cpu, eventLoopBusy, gcMs } = await variants[variant](pass);
          runs.push({
            variant,
            round: pass,
            elapsedMs: round(elapsedMs),
            eventsPerSecond: Math.round(options.consumerEvents / (elapsedMs / 1000)),
            cpuMicrosPerEvent: round((cpu.self!.cpuSeconds * 1e6) / options.consumerEvents),
            postgresCpuMicrosPerEvent: round((cpu.postgres!.cpuSeconds * 1e6) / options.consumerEvents),
            machineBusyCores: round(cpu.machine!.cores),
            eventLoopBusy: round(eventLoopBusy),
            gcMicrosPerEvent: round((gcMs * 1e3) / options.consumerEvents),
          });
        }
      }

      const medianOf = (variant: VariantName, figure: (run: VariantRun) => number) => median(runs.filter((run) => run.variant === variant).map(figure));
      const rate = (variant: VariantName) => medianOf(variant, (run) => run.eventsPerSecond);
      const cpuPerEvent = (variant: VariantName) => medianOf(variant, (run) => run.cpuMicrosPerEvent);
      const postgresCpuPerEvent = medianOf('runtime', (run) => run.postgresCpuMicrosPerEvent);
      const bare = rate('bare-eachMessage');
      const runtime = rate('runtime');
      // The verdict pairs runtime and bare within each round: the machine's speed drifts from round to round, and medians taken apart may come from different rounds.
      const ratiosToBare = perRound(runs, 'bare-eachMessage');
      const pairedRatio = median(ratiosToBare);
      const rounds = options.consumerRounds > 1 ? `, median of ${options.consumerRounds}` : '';
      return {
        measurements: [
          measurement(`runtime ÷ bare eachMessage, round by round${rounds}`, 'ratio', pairedRatio),
          measurement(`runtime, no-op handler${rounds}`, 'events/s', runtime, bare),
          measurement('runtime without idempotency DB (in-memory stand-in)', 'events/s', rate('runtime-no-idempotency-db'), bare),
          measurement('bare kafkajs eachBatch, no-op', 'events/s', rate('bare-eachBatch'), bare),
          measurement('bare kafkajs eachMessage + fromKafkaRecord (reference)', 'events/s', rate('bare-eachMessage-decoding'), bare),
          measurement('bare kafkajs eachMessage, no-op', 'events/s', bare, bare),
          measurement('CPU of this process: runtime', 'µs/event', cpuPerEvent('runtime'), cpuPerEvent('bare-eachMessage')),
          measurement('CPU of this process: runtime without idempotency DB', 'µs/event', cpuPerEvent('runtime-no-idempotency-db'), cpuPerEvent('bare-eachMessage')),
          measurement('CPU of this process: bare + fromKafkaRecord', 'µs/event', cpuPerEvent('bare-eachMessage-decoding'), cpuPerEvent('bare-eachMessage')),
          measurement('CPU of Postgres for the runtime (idempotency records)', 'µs/event', postgresCpuPerEvent, cpuPerEvent('bare-eachMessage')),
        ],
        target: { description: `runtime ÷ bare eachMessage ≥ ${TARGET_RATIO}, the median of each round's own ratio`, met: pairedRatio >= TARGET_RATIO },
        findings: [
          `baseline column: bare kafkajs eachMessage; all consumers use maxBytesPerPartition ${SHARED_CONSUMER_SETTINGS.maxBytesPerPartition} and ${RUNTIME_PARTITIONS_CONCURRENTLY} partitions consumed concurrently, as the runtime does`,
          `runtime without idempotency DB: the runtime is given an in-memory stand-in for Prisma (no processed-ids lookup, no recording transaction). A handler map with 'ignore' cannot measure this: the runtime does not subscribe to ignored event types`,
          `runs: ${runs.map((run) => `${run.variant} ${run.eventsPerSecond}`).join(', ')} events/s; the machine kept ${median(runs.map((run) => run.machineBusyCores)).toFixed(2)} cores busy (median)`,
          roundRatios(ratiosToBare),
          ratiosToValidatingBare(runs),
          `event loop busy, and GC pauses per event (medians): ${names.map((name) => `${name} ${medianOf(name, (run) => run.eventLoopBusy).toFixed(2)}, ${medianOf(name, (run) => run.gcMicrosPerEvent).toFixed(2)} µs`).join('; ')}`,
          `CPU rows: "this process" is kafkajs, the runtime and the database client; "Postgres" is every Postgres process, which takes its CPU from the same ${os.cpus().length} cores`,
        ],
        details: { events: options.consumerEvents, partitions: videoUploadedSpec.partitions, runs },
      };
    });
  },
};

/** Runtime ÷ bare of each round on its own: how far one round's ratio strays on this machine. */
function roundRatios(ratios: readonly number[]): string {
  const met = ratios.filter((ratio) => ratio >= TARGET_RATIO).length;
  return `runtime ÷ bare eachMessage per round: ${format(ratios)} (${met} of ${ratios.length} at or above ${TARGET_RATIO}; median ${median(ratios).toFixed(2)})`;
}

/**
 * Runtime ÷ a bare consumer that validates each record as the runtime does:
 * the runtime's own cost (its bookkeeping and idempotency records), apart
 * from what checking an event costs any consumer that checks it.
 */
function ratiosToValidatingBare(runs: readonly VariantRun[]): string {
  const ratios = perRound(runs, 'bare-eachMessage-decoding');
  return `runtime ÷ bare eachMessage + fromKafkaRecord per round: ${format(ratios)} (median ${median(ratios).toFixed(2)})`;
}

function perRound(runs: readonly VariantRun[], baseline: VariantName): number[] {
  return [...new Set(runs.map((run) => run.round))].map((round) => {
    const rate = (variant: VariantName) => runs.find((run) => run.round === round && run.variant === variant)!.eventsPerSecond;
    return rate('runtime') / rate(baseline);
  });
}

const format = (ratios: readonly number[]) => ratios.map((ratio) => ratio.toFixed(2)).join(', ');

async function prefill(kafka: Kafka, topic: string, count: number): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    for (let sent = 0; sent < count; sent += PREFILL_CHUNK) {
      const messages = Array.from({ length: Math.min(PREFILL_CHUNK, count - sent) }, () => {
        const record = toKafkaRecord(smallEvent(), '');
        return { key: record.key, value: record.value, headers: record.headers };
      });
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** A realistic `video.uploaded` CloudEvent (about 500 bytes of data and headers). */
function smallEvent() {
  const videoId = randomUUID();
  return createEvent('video.uploaded', {
    source: '/video-pipeline/bench',
    subject: videoId,
    data: {
      schemaVersion: 1,
      videoId,
      ownerId: 'bench',
      title: 'bench',
      object: { bucket: 'bench', key: `videos/${videoId}/original`, sizeBytes: 1_048_576, sha256: randomBytes(32).toString('hex'), contentType: 'video/mp4' },
      uploadedAt: new Date().toISOString(),
    },
  });
}

function drainTimeoutMs(events: number): number {
  return Math.round(60_000 + events); // 1 000 events/s at the slowest
}

/**
 * A bare kafkajs consumer with a no-op callback (or, as a reference, one that
 * only validates each record into an event as the runtime does); returns ms
 * from the first record handled to the last.
 */
async function drainBare(context: Context, mode: 'eachMessage' | 'eachBatch' | 'eachMessage-decoding', group: string): Promise<Drain> {
  const clock = new DrainClock();
  let handled = 0;
  let lastAt = 0;
  const count = (records: number, startedAt: number) => {
    clock.start(startedAt);
    handled += records;
    lastAt = performance.now();
  };
  const consumer = await startConsumer(
    context.kafka,
    { groupId: context.prefix + group, ...SHARED_CONSUMER_SETTINGS },
    [context.topic],
    mode === 'eachBatch'
      ? { partitionsConsumedConcurrently: RUNTIME_PARTITIONS_CONCURRENTLY, eachBatch: async ({ batch }) => count(batch.messages.length, performance.now()) }
      : {
          partitionsConsumedConcurrently: RUNTIME_PARTITIONS_CONCURRENTLY,
          eachMessage: async ({ message }) => {
            const startedAt = performance.now();
            if (mode === 'eachMessage-decoding') fromKafkaRecord(message);
            count(1, startedAt);
          },
        },
  );
  try {
    await waitFor(() => handled >= context.events, {
      timeoutMs: drainTimeoutMs(context.events),
      what: `${group} to drain the topic`,
      progress: () => `${handled}/${context.events} handled`,
    });
    return clock.finish(lastAt);
  } finally {
    await consumer.disconnect();
  }
}

/**
 * The ConsumerGroupRuntime with a no-op handler; returns ms from the first
 * handler call to the moment the last event's completion was committed
 * (counted by the runtime's own processed/duplicate metrics).
 */
async function drainRuntime(context: Context, group: string, prisma: PrismaClient): Promise<Drain> {
  // The runtime also subscribes to its group's retry tiers; they must exist.
  await createTopics(
    context.kafka,
    context.prefix,
    retryTierDelaysMs.map((_, index) => ({ name: retryTopic(group, index + 1), partitions: 3, retentionMs: 3_600_000, description: 'bench retry tier' })),
  );
  const metrics = new ConsumerMetrics();
  const clock = new DrainClock();
  const runtime = new ConsumerGroupRuntime({
    group,
    kafka: context.kafka,
    prisma,
    logger: context.env.logger,
    metrics,
    topicPrefix: context.prefix,
    partitionsConcurrently: RUNTIME_PARTITIONS_CONCURRENTLY,
    handlers: {
      ...otherEventsIgnored, 'video.uploaded': async () => clock.start(),
    },
  });
  const completed = async () => {
    const [processed, duplicates] = await Promise.all([metrics.processed.get(), metrics.duplicates.get()]);
    return [...processed.values, ...duplicates.values].reduce((sum, value) => sum + value.value, 0);
  };
  let done = 0;
  const joined = new Promise<void>((resolve) => runtime.on(runtime.events.GROUP_JOIN, () => resolve()));
  try {
    await runtime.start();
    await joined;
    await waitFor(
      async () => {
        done = await completed();
        return done >= context.events;
      },
      { timeoutMs: drainTimeoutMs(context.events), intervalMs: 5, what: `${group} to drain the topic`, progress: () => `${done}/${context.events} completed` },
    );
    return clock.finish();
  } finally {
    await runtime.stop();
  }
}

/**
 * Just enough of PrismaClient for the runtime's IdempotencyStore: every
 * statement answers one empty row, so lookups find nothing processed (and
 * no waiting keys), and each commit takes the hot path and succeeds.
 */
function inMemoryPrisma(): PrismaClient {
  const queryRawUnsafe = async () => [{}];
  const standIn = {
    $queryRawUnsafe: queryRawUnsafe,
    $transaction: async (work: (tx: unknown) => Promise<unknown>) => work({ $queryRawUnsafe: queryRawUnsafe }),
  };
  return standIn as unknown as PrismaClient;
}
