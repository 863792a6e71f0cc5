import { randomBytes, randomUUID } from 'node:crypto';
import type { Consumer, ConsumerConfig } from 'kafkajs';
import { createPrismaClient } from '@video-pipeline/db';
import { createEvent, toKafkaRecord } from '@video-pipeline/events';
import { createKafka, createProducer } from '@video-pipeline/kafka';
import { VideoRepository } from '../services/upload-api/src/video-repository';
import { createTopics, startRelay } from '../test/support/pipeline';
import { withCleanup } from './support/cleanup';
import { benchPrefix } from './support/environment';
import { startConsumer, topicLike, videoUploadedSpec, waitFor } from './support/kafka';
import { measurement, type Benchmark } from './support/report';
import { distribution, round, type Distribution } from './support/stats';

const TARGET_P99_MS = 100;
/** Per path, before measuring: connections, metadata and the group's first fetches. */
const WARMUP_EVENTS = 10;
const EVENT_SOURCE = '/video-pipeline/bench';

/**
 * The probe: a plain kafkajs consumer with kafkajs' default fetch settings
 * (minBytes 1, maxWaitTimeInMs 5000: the broker answers a fetch as soon as
 * one record arrives, so the wait bounds only idle fetches).
 */
const PROBE_CONSUMER: Omit<ConsumerConfig, 'groupId'> = {};

type PathName = 'outbox' | 'direct';

interface Sample {
  /** Consumer receive − the moment the event became real (commit returned / send called), performance.now() clock. */
  latencyMs: number;
  /** Record timestamp (set by the producer when it encodes the request) − event time, Date.now() clock. */
  toProduceMs: number;
  /** Consumer receive − record timestamp, Date.now() clock. */
  produceToReceiveMs: number;
}

interface Pending {
  startedAt: number;
  startedAtEpoch: number;
  receivedAt?: number;
  receivedAtEpoch?: number;
  producedAtEpoch?: number;
}

/**
 * `video.uploaded` from the upload API's transaction (video row + outbox
 * row, VideoRepository.createUploaded) to a plain kafkajs consumer, with the
 * outbox relay running in this process (LISTEN/NOTIFY). Latency starts when
 * the commit returns. Baseline: the same record sent straight to Kafka with
 * the same producer settings, from the send call to the same kind of
 * consumer. The paths take turns (direct, outbox, outbox, direct), each half
 * of the events, spaced out at a steady rate: an idle-machine measurement,
 * not a load test.
 */
export const eventLatency: Benchmark = {
  name: 'event-latency',
  summary: 'video.uploaded latency from DB commit (outbox + relay) to a kafkajs consumer, vs a direct kafkajs produce → consume',
  async run(env, options) {
    const prefix = benchPrefix('latency');
    const config = env.config(prefix);
    const kafka = createKafka(config.kafka, env.logger);
    const outboxTopic = prefix + videoUploadedSpec.name;
    const directTopic = `${prefix}bench.direct`;
    await createTopics(kafka, prefix, [videoUploadedSpec, topicLike(videoUploadedSpec, 'bench.direct')]);

    return withCleanup(async (cleanup) => {
      const prisma = createPrismaClient({ databaseUrl: env.databaseUrl });
      cleanup.defer('disconnect prisma', () => prisma.$disconnect());
      // Events left by an earlier benchmark would be relayed in our window and to topics that do not exist.
      const leftovers = await prisma.$executeRaw`UPDATE outbox_events SET published_at = now() WHERE published_at IS NULL`;

      const relay = await startRelay(config);
      cleanup.defer('stop the relay', () => relay.close());
      const producer = createProducer(kafka);
      await producer.connect();
      cleanup.defer('disconnect the producer', () => producer.disconnect());
      const videos = new VideoRepository(prisma, { eventSource: EVENT_SOURCE, topicPrefix: prefix });

      const pending: Record<PathName, Map<string, Pending>> = { outbox: new Map(), direct: new Map() };
      const probe = async (path: PathName, topic: string): Promise<Consumer> =>
        startConsumer(kafka, { ...PROBE_CONSUMER, groupId: `${prefix}probe-${path}` }, [topic], {
          eachMessage: async ({ message }) => {
            const receivedAt = performance.now();
            const entry = pending[path].get(message.key?.toString() ?? '');
            if (!entry || entry.receivedAt !== undefined) return;
            entry.receivedAt = receivedAt;
            entry.receivedAtEpoch = Date.now();
            entry.producedAtEpoch = Number(message.timestamp);
          },
        });
      const consumers = await Promise.all([probe('outbox', outboxTopic), probe('direct', directTopic)]);
      cleanup.defer('stop the probe consumers', () => Promise.all(consumers.map((consumer) => consumer.disconnect())));

      const send: Record<PathName, (videoId: string) => Promise<Pending>> = {
        outbox: async (videoId) => {
          await videos.createUploaded(fakeUpload(videoId));
          return { startedAt: performance.now(), startedAtEpoch: Date.now() };
        },
        direct: async (videoId) => {
          const entry = { startedAt: performance.now(), startedAtEpoch: Date.now() };
          const record = toKafkaRecord(uploadedEvent(videoId), prefix);
          await producer.send({ topic: directTopic, acks: -1, messages: [{ key: record.key, value: record.value, headers: record.headers }] });
          return entry;
        },
      };

      const intervalMs = 1000 / options.eventsPerSecond;
      const sendSpaced = async (path: PathName, count: number, record: boolean): Promise<string[]> => {
        const ids: string[] = [];
        const start = performance.now();
        for (let i = 0; i < count; i++) {
          await sleep(start + i * intervalMs - performance.now());
          const videoId = randomUUID();
          // Registered before sending: the consumer may see the record before send() returns.
          const entry: Pending = { startedAt: Number.NaN, startedAtEpoch: Number.NaN };
          pending[path].set(videoId, entry);
          Object.assign(entry, await send[path](videoId));
          if (record) ids.push(videoId);
        }
        await waitFor(() => ids.every((id) => pending[path].get(id)!.receivedAt !== undefined), {
          timeoutMs: 30_000,
          what: `${path} events to reach the consumer`,
          progress: () => `${ids.filter((id) => pending[path].get(id)!.receivedAt !== undefined).length}/${ids.length} arrived`,
        });
        return ids;
      };

      env.progress('event-latency: warming up both paths');
      await sendSpaced('direct', WARMUP_EVENTS, false);
      await sendSpaced('outbox', WARMUP_EVENTS, false);

      const measured: Record<PathName, string[]> = { outbox: [], direct: [] };
      const half = Math.ceil(options.events / 2);
      for (const [turn, path] of (['direct', 'outbox', 'outbox', 'direct'] as const).entries()) {
        const count = turn < 2 ? half : options.events - half;
        env.progress(`event-latency: ${path}, ${count} events at ${options.eventsPerSecond}/s`);
        measured[path].push(...(await sendSpaced(path, count, true)));
      }

      const samples = (path: PathName): Sample[] =>
        measured[path].map((id) => {
          const entry = pending[path].get(id)!;
          return {
            latencyMs: entry.receivedAt! - entry.startedAt,
            toProduceMs: entry.producedAtEpoch! - entry.startedAtEpoch,
            produceToReceiveMs: entry.receivedAtEpoch! - entry.producedAtEpoch!,
          };
        });
      const outbox = summarize(samples('outbox'));
      const direct = summarize(samples('direct'));

      const findings = [
        `outbox path split at the record timestamp (ms clock): commit → relay's produce p50 ${outbox.toProduce.p50} / p99 ${outbox.toProduce.p99} ms, produce → consumer p50 ${outbox.produceToReceive.p50} / p99 ${outbox.produceToReceive.p99} ms`,
        `direct path: send → produce request p50 ${direct.toProduce.p50} / p99 ${direct.toProduce.p99} ms, produce → consumer p50 ${direct.produceToReceive.p50} / p99 ${direct.produceToReceive.p99} ms`,
        `outbox − direct: ${signed(outbox.latency.p50 - direct.latency.p50)} ms at p50, ${signed(outbox.latency.p99 - direct.latency.p99)} ms at p99 (differences of a few ms are within run-to-run noise)`,
      ];
      if (leftovers > 0) findings.push(`${leftovers} unpublished outbox rows from before this benchmark were marked published so the relay would not send them`);

      return {
        measurements: (['p50', 'p95', 'p99', 'max'] as const).map((stat) => measurement(`latency ${stat} (${outbox.latency.count} events)`, 'ms', outbox.latency[stat], direct.latency[stat])),
        target: { description: `outbox p99 < ${TARGET_P99_MS} ms`, met: outbox.latency.p99 < TARGET_P99_MS },
        findings,
        details: { events: options.events, eventsPerSecond: options.eventsPerSecond, warmupEvents: WARMUP_EVENTS, probeConsumer: { ...PROBE_CONSUMER }, outbox, direct },
      };
    });
  },
};

function summarize(samples: Sample[]): { latency: Distribution; toProduce: Distribution; produceToReceive: Distribution } {
  const rounded = (values: number[]): Distribution => {
    const { count, min, p50, p95, p99, max, mean } = distribution(values);
    return { count, min: round(min), p50: round(p50), p95: round(p95), p99: round(p99), max: round(max), mean: round(mean) };
  };
  return {
    latency: rounded(samples.map((s) => s.latencyMs)),
    toProduce: rounded(samples.map((s) => s.toProduceMs)),
    produceToReceive: rounded(samples.map((s) => s.produceToReceiveMs)),
  };
}

function fakeUpload(videoId: string) {
  return {
    id: videoId,
    ownerId: 'bench',
    title: null,
    object: { bucket: 'bench', key: `videos/${videoId}/original`, sizeBytes: 1_048_576, sha256: randomBytes(32).toString('hex'), contentType: 'video/mp4' },
  };
}

function uploadedEvent(videoId: string) {
  const upload = fakeUpload(videoId);
  return createEvent('video.uploaded', {
    source: EVENT_SOURCE,
    subject: videoId,
    data: { schemaVersion: 1, videoId, ownerId: upload.ownerId, title: upload.title, object: upload.object, uploadedAt: new Date().toISOString() },
  });
}

const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
