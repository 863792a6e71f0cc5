import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import type { ConsumerConfig, Kafka } from 'kafkajs';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { createEvent, fromKafkaRecord, toKafkaRecord } from '@video-pipeline/events';
import { createKafka, createProducer } from '@video-pipeline/kafka';
import { createTopics } from '../test/support/pipeline';
import { withCleanup } from './support/cleanup';
import { DrainClock, drainWithRuntime, type Drain } from './support/drain';
import { benchPrefix, type BenchEnv } from './support/environment';
import { startConsumer, videoUploadedSpec, waitFor } from './support/kafka';
import { measurement, type Benchmark } from './support/report';
import { median, round } from './support/stats';
import { otherEventsIgnored } from '../test/support/events';

/** Events per second one runtime instance must reach with a no-op handler: a floor for the product, not a target to optimise towards. */
const FLOOR_EVENTS_PER_SECOND = 1_000;
const PREFILL_CHUNK = 2_000;
/** What the runtime gives its kafkajs consumer (consumer-group.ts); the bare consumers get the same, so the difference is the runtime's own. */
const SHARED_CONSUMER_SETTINGS = { maxBytesPerPartition: 1024 * 1024 } satisfies Partial<ConsumerConfig>;
const PARTITIONS_CONCURRENTLY = 3;

type VariantName = 'bare-validating' | 'bare' | 'runtime';

interface VariantRun {
  variant: VariantName;
  round: number;
  eventsPerSecond: number;
  /** Wall time per event. */
  microsPerEvent: number;
  /** CPU of the bench process per event: less sensitive to other work on the machine than events/s. */
  cpuMicrosPerEvent: number;
  /** CPU of all Postgres processes per event. */
  postgresCpuMicrosPerEvent: number;
  /** Share of the drain this process' event loop was busy. */
  eventLoopBusy: number;
}

interface Context {
  env: BenchEnv;
  kafka: Kafka;
  prisma: PrismaClient;
  prefix: string;
  topic: string;
  events: number;
}

/**
 * One pre-filled `video.uploaded` topic (6 partitions) drained by each
 * variant in a fresh group, timed from the first record handled to the
 * last: the ConsumerGroupRuntime with a no-op handler (its idempotency
 * records, commits and offsets included), a bare kafkajs consumer that
 * validates every record into an event as the runtime does (the least a
 * consumer that checks its input does), and a bare one that does nothing.
 * The runtime's overhead per event is its time per event less the
 * validating consumer's, in the same round.
 */
export const consumerThroughput: Benchmark = {
  name: 'consumer-throughput',
  summary: `events/s of ConsumerGroupRuntime (no-op handler) against a floor of ${FLOOR_EVENTS_PER_SECOND}/s per instance, and its overhead per event beside a bare kafkajs consumer that validates the same events`,
  async run(env, options) {
    const prefix = benchPrefix('consumer');
    const kafka = createKafka(env.config(prefix).kafka, env.logger);
    const topic = prefix + videoUploadedSpec.name;
    await createTopics(kafka, prefix, [videoUploadedSpec]);

    return withCleanup(async (cleanup) => {
      const prisma = createPrismaClient({ databaseUrl: env.databaseUrl });
      cleanup.defer('disconnect prisma', () => prisma.$disconnect());
      env.progress(`consumer-throughput: pre-filling ${topic} with ${options.consumerEvents} events`);
      await prefill(kafka, topic, options.consumerEvents);

      const context: Context = { env, kafka, prisma, prefix, topic, events: options.consumerEvents };
      const variants: Record<VariantName, (round: number) => Promise<Drain>> = {
        'bare-validating': (round) => drainBare(context, true, `bare-validating-${round}`),
        bare: (round) => drainBare(context, false, `bare-${round}`),
        runtime: (round) => drainRuntime(context, `bench-runtime-${round}`),
      };
      const names = Object.keys(variants) as VariantName[];

      const runs: VariantRun[] = [];
      for (let round = 0; round < options.consumerRounds; round++) {
        // Each round starts one variant later, so no variant always runs first or last.
        for (const variant of names.map((_, index) => names[(index + round) % names.length]!)) {
          env.progress(`consumer-throughput: round ${round + 1}/${options.consumerRounds}, ${variant}`);
          const { elapsedMs, cpu, eventLoopBusy } = await variants[variant](round);
          runs.push({
            variant,
            round,
            eventsPerSecond: Math.round(options.consumerEvents / (elapsedMs / 1000)),
            microsPerEvent: round2((elapsedMs * 1e3) / options.consumerEvents),
            cpuMicrosPerEvent: round2((cpu.self!.cpuSeconds * 1e6) / options.consumerEvents),
            postgresCpuMicrosPerEvent: round2((cpu.postgres!.cpuSeconds * 1e6) / options.consumerEvents),
            eventLoopBusy: round2(eventLoopBusy),
          });
        }
      }

      const medianOf = (variant: VariantName, figure: (run: VariantRun) => number) => median(runs.filter((run) => run.variant === variant).map(figure));
      const rate = (variant: VariantName) => medianOf(variant, (run) => run.eventsPerSecond);
      const cpu = (variant: VariantName) => medianOf(variant, (run) => run.cpuMicrosPerEvent);
      const runtime = rate('runtime');
      // Paired within each round: the machine's speed drifts from round to round.
      const overheads = perRound(runs, (round) => round.runtime.microsPerEvent - round['bare-validating'].microsPerEvent);
      const overhead = median(overheads);
      return {
        measurements: [
          measurement('runtime, no-op handler', 'events/s', runtime, rate('bare-validating')),
          measurement('bare kafkajs + fromKafkaRecord (baseline)', 'events/s', rate('bare-validating'), rate('bare-validating')),
          measurement('bare kafkajs, no-op (reference)', 'events/s', rate('bare'), rate('bare-validating')),
          measurement("runtime's overhead per event (wall, over the baseline)", 'µs/event', overhead),
          measurement('CPU of this process: runtime', 'µs/event', cpu('runtime'), cpu('bare-validating')),
          measurement('CPU of Postgres for the runtime', 'µs/event', medianOf('runtime', (run) => run.postgresCpuMicrosPerEvent)),
        ],
        target: { description: `runtime ≥ ${FLOOR_EVENTS_PER_SECOND} events/s per instance (median of ${options.consumerRounds} rounds)`, met: runtime >= FLOOR_EVENTS_PER_SECOND },
        findings: [
          `baseline column: a bare kafkajs consumer (eachMessage) that validates each record with fromKafkaRecord; every consumer uses maxBytesPerPartition ${SHARED_CONSUMER_SETTINGS.maxBytesPerPartition} and ${PARTITIONS_CONCURRENTLY} partitions at once, as the runtime does`,
          `runtime's overhead per round: ${overheads.map((value) => value.toFixed(0)).join(', ')} µs/event: its lookups, commits (one transaction per up to 500 events), offsets and bookkeeping`,
          `runs: ${runs.map((run) => `${run.variant} ${run.eventsPerSecond}`).join(', ')} events/s`,
          `event loop busy (medians): ${names.map((name) => `${name} ${medianOf(name, (run) => run.eventLoopBusy).toFixed(2)}`).join(', ')}`,
          `CPU rows: "this process" is kafkajs, the runtime and the database client; Postgres takes its CPU from the same ${os.cpus().length} cores`,
        ],
        details: { events: options.consumerEvents, partitions: videoUploadedSpec.partitions, runs },
      };
    });
  },
};

/** `figure` of each round, from that round's runs by variant. */
function perRound(runs: readonly VariantRun[], figure: (round: Record<VariantName, VariantRun>) => number): number[] {
  return [...new Set(runs.map((run) => run.round))].map((round) => figure(Object.fromEntries(runs.filter((run) => run.round === round).map((run) => [run.variant, run])) as Record<VariantName, VariantRun>));
}

const round2 = (value: number) => round(value, 2);

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
  return Math.round(60_000 + (events / FLOOR_EVENTS_PER_SECOND) * 1_000 * 2);
}

/** A bare kafkajs consumer, validating each record into an event or not. */
async function drainBare(context: Context, validating: boolean, group: string): Promise<Drain> {
  const clock = new DrainClock();
  let handled = 0;
  let lastAt = 0;
  const consumer = await startConsumer(context.kafka, { groupId: context.prefix + group, ...SHARED_CONSUMER_SETTINGS }, [context.topic], {
    partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
    eachMessage: async ({ message }) => {
      clock.start();
      if (validating) fromKafkaRecord(message);
      handled += 1;
      lastAt = performance.now();
    },
  });
  try {
    await waitFor(() => handled >= context.events, { timeoutMs: drainTimeoutMs(context.events), what: `${group} to drain the topic`, progress: () => `${handled}/${context.events} handled` });
    return clock.finish(lastAt);
  } finally {
    await consumer.disconnect();
  }
}

/** The runtime with a no-op handler, timed from the first handler call to the commit of the last event. */
async function drainRuntime(context: Context, group: string): Promise<Drain> {
  const clock = new DrainClock();
  const { drain } = await drainWithRuntime(
    {
      kafka: context.kafka,
      prisma: context.prisma,
      logger: context.env.logger,
      prefix: context.prefix,
      group,
      handlers: { ...otherEventsIgnored, 'video.uploaded': async () => clock.start() },
      events: context.events,
      partitionsConcurrently: PARTITIONS_CONCURRENTLY,
      timeoutMs: drainTimeoutMs(context.events),
    },
    clock,
  );
  return drain;
}
