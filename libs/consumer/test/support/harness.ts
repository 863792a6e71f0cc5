import { AssignerProtocol, type Admin, type Kafka, type Producer, type RecordMetadata } from 'kafkajs';
import type { Counter } from 'prom-client';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { deadLetterTopic, retryTopic, toKafkaRecord, type CloudEvent } from '@video-pipeline/events';
import { createKafka, createProducer, topicSpecs, type TopicSpec } from '@video-pipeline/kafka';
import { createLogger, type Logger } from '@video-pipeline/logging';
import { ConsumerGroupRuntime, ConsumerMetrics, type ConsumerGroupOptions, type EventHandlers, type HandlerContext } from '../../src';
import { createTopics, testLogger } from '../../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../../test/support/test-env';
import { countedEffects } from './effects';
import { fastMembership, fastRetryPolicy } from './policies';
import { otherEventsIgnored } from '../../../../test/support/events';

export { appliedEffects, countedEffects } from './effects';
export { fastMembership, fastRetryPolicy } from './policies';

/** A captured log line's fields that tests look at. */
export interface LoggedLine {
  msg: string;
  err?: { code?: string; message?: string };
  [field: string]: unknown;
}

/**
 * A logger that keeps its lines (warn and above by default), for asserting
 * that nothing went wrong quietly; `logged(msg)` gives those with a message,
 * parsed.
 */
export function capturingLogger(level = 'warn'): { logger: Logger; lines: string[]; logged(msg: string): LoggedLine[] } {
  const lines: string[] = [];
  return {
    lines,
    logger: createLogger('test', { level, destination: { write: (line: string) => void lines.push(line) } }),
    logged: (msg) => lines.map((line) => JSON.parse(line) as LoggedLine).filter((line) => line.msg === msg),
  };
}

/**
 * The topics one consumer group needs: `video.uploaded` (with as many
 * partitions as the test wants), the group's first `tiers` retry topics and
 * its dead-letter topic, shaped as in the topology.
 */
export function groupTopicSpecs(group: string, options: { sourcePartitions?: number; tiers?: number } = {}): TopicSpec[] {
  const { sourcePartitions = 1, tiers = fastRetryPolicy.tierDelaysMs.length } = options;
  // Every group's retry and dead-letter topics are shaped alike; the transcoder's serve as the model.
  const shaped = (name: string, shapeOf: string, partitions?: number): TopicSpec => {
    const spec = topicSpecs.find((candidate) => candidate.name === shapeOf)!;
    return { ...spec, name, partitions: partitions ?? spec.partitions };
  };
  return [
    shaped('video.uploaded', 'video.uploaded', sourcePartitions),
    ...Array.from({ length: tiers }, (_, index) => shaped(retryTopic(group, index + 1), retryTopic('transcoder', index + 1))),
    shaped(deadLetterTopic(group), deadLetterTopic('transcoder')),
  ];
}

/** A valid `video.uploaded` event for a fresh video (or the given one). */
export { sampleVideoUploaded as videoUploaded, otherEventsIgnored } from '../../../../test/support/events';

/** Every event id the group recorded as processed. */
export async function processedEventIds(prisma: PrismaClient, groupId: string): Promise<string[]> {
  const records = await prisma.processedEvent.findMany({ where: { consumerGroup: groupId }, orderBy: { processedAt: 'asc' } });
  return records.map((record) => record.eventId);
}

/** The sum of a counter's values whose labels include `labels`. */
export async function counterValue(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((value) => Object.entries(labels).every(([name, wanted]) => value.labels[name] === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}

/**
 * One test's world on the real broker and database: its own topic prefix
 * (so its topics, consumer group and idempotency scope are its own), a Kafka
 * client, a Prisma client, a producer, and the runtimes it started.
 */
export class ConsumerTestbed {
  readonly kafka: Kafka;
  readonly prisma: PrismaClient;
  readonly producer: Producer;
  readonly groupId: string;
  private readonly runtimes = new Set<ConsumerGroupRuntime>();
  private admin?: Admin;

  constructor(
    readonly prefix: string,
    readonly group: string,
    /** Environment overrides, e.g. KAFKA_BROKERS for a broker of the test's own. */
    env: NodeJS.ProcessEnv = {},
  ) {
    const config = testConfig(prefix, env);
    this.kafka = createKafka(config.kafka, testLogger(), { retry: { initialRetryTime: 100, retries: 8 } });
    this.prisma = createPrismaClient({ databaseUrl: config.database.url, poolMax: 4 });
    this.producer = createProducer(this.kafka);
    this.groupId = prefix + group;
  }

  async start(topics: { sourcePartitions?: number; tiers?: number }): Promise<void> {
    await Promise.all([createTopics(this.kafka, this.prefix, groupTopicSpecs(this.group, topics)), this.producer.connect()]);
  }

  get sourceTopic(): string {
    return this.prefix + 'video.uploaded';
  }

  get deadLetterTopic(): string {
    return this.prefix + deadLetterTopic(this.group);
  }

  retryTopic(tier: number): string {
    return this.prefix + retryTopic(this.group, tier);
  }

  async adminClient(): Promise<Admin> {
    if (!this.admin) {
      this.admin = this.kafka.admin();
      await this.admin.connect();
    }
    return this.admin;
  }

  /** A runtime of this test's group with test-sized timings, started unless told otherwise; `close()` stops it unless the test did. */
  async runtime(options: Pick<ConsumerGroupOptions, 'handlers'> & Partial<ConsumerGroupOptions>, { start = true } = {}): Promise<ConsumerGroupRuntime> {
    const runtime = new ConsumerGroupRuntime({
      group: this.group,
      kafka: this.kafka,
      prisma: this.prisma,
      logger: testLogger(),
      topicPrefix: this.prefix,
      retryPolicy: fastRetryPolicy,
      metrics: new ConsumerMetrics(),
      fetchMaxWaitMs: 100,
      shutdownGraceMs: 5_000,
      ...fastMembership,
      ...options,
    });
    this.runtimes.add(runtime);
    if (start) await runtime.start();
    return runtime;
  }

  /** Publishes events as the relay does (CloudEvents binary mode, keyed by video id), in order. */
  async publish(events: readonly CloudEvent[], options: { partition?: number } = {}): Promise<RecordMetadata[]> {
    return this.publishRaw(events.map((event) => toKafkaRecord(event, this.prefix)), options);
  }

  async publishRaw(records: readonly { key: string; value: string | null; headers: Record<string, string> }[], options: { partition?: number } = {}): Promise<RecordMetadata[]> {
    return this.producer.send({
      topic: this.sourceTopic,
      acks: -1,
      messages: records.map((record) => ({ key: record.key, value: record.value, headers: record.headers, partition: options.partition })),
    });
  }

  /** Records in a topic so far (the high watermarks' sum). */
  async recordCount(topic: string): Promise<number> {
    const admin = await this.adminClient();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  }

  /** The group's committed offset of one partition; -1 when it never committed. */
  async committedOffset(topic: string, partition: number): Promise<number> {
    const admin = await this.adminClient();
    const [committed] = await admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
    return Number(committed?.partitions.find((entry) => entry.partition === partition)?.offset ?? -1);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.runtimes].map((runtime) => runtime.stop()));
    await Promise.allSettled([this.producer.disconnect(), this.admin?.disconnect(), this.prisma.$disconnect()]);
  }
}

/**
 * Gives each test its own testbed (fresh prefix, topics created) and closes
 * them after each test. Call at the top of a `describe`.
 */
export function useTestbeds(): (name: string, options?: { group?: string; sourcePartitions?: number; tiers?: number }) => Promise<ConsumerTestbed> {
  const open: ConsumerTestbed[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bed) => bed.close()));
  });
  return async (name, options = {}) => {
    const bed = new ConsumerTestbed(uniquePrefix(name), options.group ?? 'transcoder');
    open.push(bed);
    await bed.start(options);
    return bed;
  };
}

/** Follows the partitions of one topic that a runtime was last assigned (from its GROUP_JOIN events). */
export function trackAssignment(runtime: ConsumerGroupRuntime, topic: string): { partitions(): number[]; joins(): number } {
  let latest: number[] = [];
  let joins = 0;
  runtime.on(runtime.events.GROUP_JOIN, ({ payload }) => {
    joins += 1;
    latest = [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  return { partitions: () => latest, joins: () => joins };
}

/** Members of the group and the partitions of `topic` each holds, as the broker describes them. */
export async function describeMembers(runtime: ConsumerGroupRuntime, topic: string): Promise<{ state: string; assignments: number[][] }> {
  const description = await runtime.describeGroup();
  const assignments = description.members.map((member) => {
    const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    return [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b);
  });
  return { state: description.state, assignments };
}

/**
 * One handler call, timed on both of the runtime's clocks: retry tiers are
 * kept on the wall clock (`Date.now()`: their due times cross processes),
 * in-place backoff and time limits on the monotonic one (`performance.now()`).
 * The two need not advance alike (the wall clock may be slewed or stepped),
 * so a check reads the clock its rule is kept on.
 */
export interface HandlerCall {
  eventId: string;
  videoId: string;
  attempt: number;
  startedAt: number;
  endedAt?: number;
  startedAtMonotonic: number;
  endedAtMonotonic?: number;
  outcome?: 'success' | 'failure';
}

/**
 * A `video.uploaded` handler that records every call, runs `behaviour`
 * (which may throw) and returns counted effects.
 */
export function recordingHandler(
  behaviour: (event: CloudEvent<'video.uploaded'>, context: HandlerContext) => Promise<void> | void = () => undefined,
): { calls: HandlerCall[]; callsFor(eventId: string): HandlerCall[]; handlers: EventHandlers } {
  const calls: HandlerCall[] = [];
  return {
    calls,
    callsFor: (eventId) => calls.filter((call) => call.eventId === eventId),
    handlers: {
      ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
        const call: HandlerCall = { eventId: event.id, videoId: event.data.videoId, attempt: context.attempt, startedAt: Date.now(), startedAtMonotonic: performance.now() };
        calls.push(call);
        try {
          await behaviour(event, context);
        } catch (error) {
          Object.assign(call, { endedAt: Date.now(), endedAtMonotonic: performance.now(), outcome: 'failure' });
          throw error;
        }
        Object.assign(call, { endedAt: Date.now(), endedAtMonotonic: performance.now(), outcome: 'success' });
        return countedEffects(event, context.groupId);
      },
    },
  };
}
