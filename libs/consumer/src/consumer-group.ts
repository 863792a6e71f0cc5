import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJSError, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import pLimit, { type Limit } from 'p-limit';
import { isDatabaseUnavailable, type PrismaClient } from '@video-pipeline/db';
import { eventCatalog, retryTierDelaysMs, retryTopic, type EventType } from '@video-pipeline/events';
import { isPipelineError } from '@video-pipeline/errors';
import { createProducer } from '@video-pipeline/kafka';
import type { Logger } from '@video-pipeline/logging';
import { backoffDelayMs, systemClock, untilAborted, type BackoffPolicy, type Clock, type Random } from '@video-pipeline/retry';
import { Escalation } from './escalation';
import type { EventHandlers } from './handlers';
import { ConsumerMetrics } from './metrics';
import { PartitionBatch, type BatchParts } from './partition-batch';
import { DEFAULT_COMMIT_TIMEOUT_MS, ProcessedEvents } from './processed-events';
import { defaultRetryPolicy, validateRetryPolicy, type RetryPolicy } from './retry-policy';
import { WaitingRoom } from './waiting-room';

export interface ConsumerGroupOptions {
  /** The group's name, e.g. `transcoder`; names its retry and dead-letter topics. */
  group: string;
  handlers: EventHandlers;
  kafka: Kafka;
  prisma: PrismaClient;
  logger: Logger;
  metrics?: ConsumerMetrics;
  /** Prefixes topics and the Kafka group id, keeping test runs and tenants apart. Default ''. */
  topicPrefix?: string;
  retryPolicy?: RetryPolicy;
  /** Partitions this instance works on at once; the others' batches wait, paused, for a turn. Default 3. */
  partitionsConcurrently?: number;
  /**
   * How long kafkajs' fetch loop waits for a batch. A batch still running
   * then (a long handler, or no turn free) goes on beside the loop, its
   * partition paused, so the instance's other partitions are not held up.
   * Default 1 s.
   */
  detachAfterMs?: number;
  /** The broker drops a member silent for this long. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s; the runtime also heartbeats while a handler runs. */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin. Batches run beside the fetch loop, so a member rejoins at once; an upper bound for `handlerTimeoutMs`. Default 15 min. */
  rebalanceTimeoutMs?: number;
  /**
   * How long one attempt of a handler may run. Past it the attempt is
   * abandoned: its signal is aborted, it fails with `handler_timeout`, and
   * the event moves to the next retry tier at once (no retry in place), so a
   * hung handler holds its partition for this long at most. Whatever the
   * abandoned attempt returns later is dropped. At most `rebalanceTimeoutMs`,
   * and by default the same.
   */
  handlerTimeoutMs?: number;
  /**
   * How long `stop()` may take. In-flight work gets this less a short reserve
   * (a quarter, at most 2 s); then its handlers are aborted and it is
   * abandoned uncommitted, and the reserve lets the member leave the group.
   * Default 30 s.
   */
  shutdownGraceMs?: number;
  /** Handled events committed in one transaction, at most. Default 500. */
  maxCommitBatch?: number;
  /** How long a commit waits for more events after the first of them started. Default 50 ms. */
  maxCommitDelayMs?: number;
  /**
   * How long a transaction that applies handlers' effects may run (and,
   * before it, wait for a connection); past it, it rolls back and its events
   * fail with `commit_timeout` (retried, then parked, like a failed handler).
   * Default 60 s.
   */
  commitTimeoutMs?: number;
  /**
   * How long a fetch waits for new records before returning empty. It also
   * bounds how long `stop()` waits for an idle fetch. Default 1 s.
   */
  fetchMaxWaitMs?: number;
  /** How often the consumer refreshes topic metadata, and so how soon it notices a topic's new partitions. Default 5 min (kafkajs'). */
  metadataMaxAgeMs?: number;
  /** Due times of retries, and back-off sleeps. Default: the system's. */
  clock?: Clock;
  /** Jitter of back-offs and retry delays. Default Math.random. */
  random?: Random;
}

const defaults = {
  topicPrefix: '',
  retryPolicy: defaultRetryPolicy,
  partitionsConcurrently: 3,
  detachAfterMs: 1_000,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 15 * 60_000,
  shutdownGraceMs: 30_000,
  maxCommitBatch: 500,
  maxCommitDelayMs: 50,
  commitTimeoutMs: DEFAULT_COMMIT_TIMEOUT_MS,
  fetchMaxWaitMs: 1_000,
  metadataMaxAgeMs: 5 * 60_000,
  clock: systemClock,
  random: Math.random,
} satisfies Partial<ConsumerGroupOptions>;

/** Pauses before a failed batch (the database unavailable, the broker refusing a send) is fetched again: soon after a blip, every 5 s in a long outage. */
const outageBackoff: BackoffPolicy = { initialMs: 250, maxMs: 5_000, multiplier: 2, jitter: 0.5 };

/**
 * Runs one consumer group's handlers with at-least-once delivery and
 * effectively-once effects. kafkajs fetches; each fetched batch of a
 * partition is a `PartitionBatch` (order, commits, offsets), each record in
 * it a `Delivery` (decode, skip duplicates, attempts within the time limit),
 * and what fails goes to the `Escalation` (retry tiers, dead letters). This
 * class owns their parts, membership, and shutdown.
 *
 * kafkajs waits for every batch of a fetch before it fetches again (its
 * issue #1211), so a long handler awaited there would hold up the
 * instance's other partitions and its rejoining in a rebalance. A batch
 * still running after `detachAfterMs` is detached: its partition is paused,
 * the batch runs on, commits, and the partition resumes. A batch whose
 * partition a rebalance gives to another member is revoked
 * (`PartitionBatch.revoke`).
 *
 * `stop()` stops fetching, lets in-flight work finish within the grace
 * period or abandons it uncommitted, and leaves the group.
 */
export class ConsumerGroupRuntime {
  readonly groupId: string;
  /** Counters of this instance (processed, failed, retried, dead-lettered, ...); its `registry` is what /metrics serves. */
  readonly metrics: ConsumerMetrics;
  private readonly options: typeof defaults & ConsumerGroupOptions;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly logger: Logger;
  private readonly shutdown = new AbortController();
  private readonly parts: BatchParts;
  private readonly tierByTopic = new Map<string, number>();
  private readonly sourceTopics: string[];
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** Batches running or waiting for a turn, by `topic:partition`, and what each ends with. */
  private readonly inFlight = new Map<string, { batch: PartitionBatch; done: Promise<void> }>();
  private readonly turns: Limit;
  private running = false;
  private stopping?: Promise<void>;
  /** Batches that failed since one last succeeded: sets the pause before the next is fetched again. */
  private outages = 0;

  constructor(options: ConsumerGroupOptions) {
    this.options = { ...defaults, ...options };
    const { group, topicPrefix, retryPolicy, sessionTimeoutMs, heartbeatIntervalMs, rebalanceTimeoutMs, handlerTimeoutMs = rebalanceTimeoutMs } = this.options;
    validateRetryPolicy(retryPolicy, retryTierDelaysMs.length);
    if (heartbeatIntervalMs >= sessionTimeoutMs / 3) {
      throw new Error(`heartbeatIntervalMs (${heartbeatIntervalMs}) must be under a third of sessionTimeoutMs (${sessionTimeoutMs}) so one lost heartbeat does not cost the membership`);
    }
    if (!(handlerTimeoutMs > 0 && handlerTimeoutMs <= rebalanceTimeoutMs)) {
      throw new Error(`handlerTimeoutMs (${handlerTimeoutMs}) must be above 0 and at most rebalanceTimeoutMs (${rebalanceTimeoutMs}): a member still in a handler when a rebalance times out loses its partitions`);
    }

    this.groupId = topicPrefix + group;
    this.logger = options.logger.child({ group: this.groupId });
    this.metrics = options.metrics ?? new ConsumerMetrics();
    this.sourceTopics = [
      ...new Set(
        (Object.keys(options.handlers) as EventType[])
          .filter((type) => options.handlers[type] !== 'ignore')
          .map((type) => topicPrefix + eventCatalog[type].topic),
      ),
    ];
    retryPolicy.tierDelaysMs.forEach((_, index) => this.tierByTopic.set(topicPrefix + retryTopic(group, index + 1), index + 1));

    this.consumer = options.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      rebalanceTimeout: rebalanceTimeoutMs,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.options.fetchMaxWaitMs,
      metadataMaxAge: this.options.metadataMaxAgeMs,
      // Small fetches keep a batch's worth of unfinished work short if the worker dies.
      maxBytesPerPartition: 1024 * 1024,
    });
    this.producer = createProducer(options.kafka);
    this.turns = pLimit(this.options.partitionsConcurrently);
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => this.revokeUnassigned(payload.memberAssignment));
    // kafkajs restarts a crashed consumer with a fresh group state: detached batches lose their pause, and their records are fetched again.
    this.consumer.on(this.consumer.events.CRASH, () => {
      for (const { batch } of this.inFlight.values()) batch.revoke('the consumer crashed and restarts');
    });

    const { prisma, clock, random, commitTimeoutMs } = this.options;
    const waitingRoom = new WaitingRoom(prisma, this.groupId);
    this.parts = {
      groupId: this.groupId,
      handlers: options.handlers,
      retryPolicy,
      handlerTimeoutMs,
      waitingRoom,
      processedEvents: new ProcessedEvents(prisma, this.groupId, { commitTimeoutMs }),
      escalation: new Escalation({ group, groupId: this.groupId, topicPrefix, producer: this.producer, waitingRoom, metrics: this.metrics, retryPolicy, clock, random, handlers: options.handlers, prisma, commitTimeoutMs }),
      metrics: this.metrics,
      logger: this.logger,
      shutdown: this.shutdown.signal,
      clock,
      random,
      maxCommitBatch: this.options.maxCommitBatch,
      maxCommitDelayMs: this.options.maxCommitDelayMs,
      heartbeatIntervalMs,
      tierOf: (topic) => this.tierByTopic.get(topic) ?? 0,
      isRunning: () => this.running,
    };
  }

  /** Topics this instance subscribes to: the events it handles plus its retry tiers. */
  get topics(): string[] {
    return [...this.sourceTopics, ...this.tierByTopic.keys()];
  }

  get deadLetterTopic(): string {
    return this.parts.escalation.deadLetterTopic;
  }

  /** Joins the group and starts consuming; resolves once the consumer runs. */
  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConcurrently,
      eachBatchAutoResolve: false,
      autoCommit: true,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.logger.info({ topics: this.topics }, 'consumer group running');
  }

  /** Kafka consumer events (GROUP_JOIN, CRASH, ...), for tests and health checks. */
  get events(): Consumer['events'] {
    return this.consumer.events;
  }

  on: Consumer['on'] = (...args) => this.consumer.on(...args);

  async describeGroup() {
    return this.consumer.describeGroup();
  }

  /**
   * Stops fetching and waits up to the grace period for in-flight handlers;
   * past it, aborts them and returns without committing their offsets.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    if (!this.running) {
      await Promise.allSettled([this.consumer.disconnect(), this.producer.disconnect()]);
      return;
    }
    this.running = false;
    for (const timer of this.resumeTimers) clearTimeout(timer);
    const graceMs = this.options.shutdownGraceMs;
    // Handlers get the grace period less a short reserve, in which aborted work unwinds and the member
    // leaves the group: its partitions then move at once instead of after its session times out.
    const reserveMs = Math.min(2_000, Math.floor(graceMs / 4));
    // Running batches stop before their next record and commit; then disconnect() stops fetching and leaves the group.
    const drained = Promise.all([...this.inFlight.values()].map(({ done }) => done));
    const disconnected = drained
      .then(() => this.consumer.disconnect())
      .catch((error: unknown) => this.logger.warn({ err: error }, 'consumer did not disconnect cleanly'));
    const finishedWithin = (ms: number) => untilAborted(disconnected, AbortSignal.timeout(ms)).then(
      () => true,
      () => false,
    );
    if (!(await finishedWithin(graceMs - reserveMs))) {
      this.logger.warn({ graceMs }, 'in-flight work did not finish within the grace period; abandoning it uncommitted');
      this.shutdown.abort();
      if (!(await finishedWithin(reserveMs))) this.logger.warn({ reserveMs }, 'aborted work did not stop in time; its partitions move once the session times out');
    }
    await this.producer.disconnect().catch(() => undefined);
  }

  /**
   * Runs a fetched batch in one of the `partitionsConcurrently` turns.
   * kafkajs' fetch loop waits for it up to `detachAfterMs`; a batch still
   * running then is detached: its partition is paused and the loop goes on
   * with the others. A partition resumes when its batch ends (later if a
   * retry tier's next record is not due yet, or after a pause if the batch
   * failed); kafkajs then fetches from the offset the batch resolved.
   */
  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    if (!this.running) {
      payload.pause(); // stopping: nothing is fetched again until the member leaves
      return;
    }
    const batch = new PartitionBatch(payload, this.parts);
    const key = `${batch.topic}:${batch.partition}`;
    let state: 'awaited' | 'detached' | 'ended' = 'awaited';
    let resume = () => {};
    const done = this.turns(() => this.runBatch(batch)).then((pauseMs) => {
      this.inFlight.delete(key);
      if (state === 'awaited' && pauseMs > 0) resume = payload.pause();
      if (state === 'detached' || pauseMs > 0) this.resumeAfter(resume, pauseMs);
      state = 'ended';
    });
    this.inFlight.set(key, { batch, done });

    const timer = new AbortController();
    await Promise.race([done, sleep(this.options.detachAfterMs, undefined, { signal: timer.signal }).catch(() => undefined)]);
    timer.abort();
    if (state === 'awaited') {
      state = 'detached';
      resume = payload.pause();
    }
  }

  /** Runs one batch; resolves with how long its partition should stay paused. Never rejects. */
  private async runBatch(batch: PartitionBatch): Promise<number> {
    const where = { topic: batch.topic, partition: batch.partition };
    try {
      const dueInMs = await batch.run();
      this.outages = 0;
      return dueInMs;
    } catch (error) {
      if (batch.revoked) {
        this.logger.info(where, 'partition revoked; its batch stopped, and the new owner goes on from the last committed offset');
        return 0;
      }
      if (!this.running) return 0;
      // The batch's unresolved records are fetched again after a pause: the database's outage, or the broker's, is no event's fault.
      this.outages += 1;
      const retryInMs = backoffDelayMs(outageBackoff, this.outages, this.options.random);
      if (isDatabaseOutage(error)) this.logger.warn({ err: error, ...where, retryInMs }, 'database unavailable; fetching the batch again after a pause');
      else this.logger.error({ err: error, ...where, retryInMs }, 'batch failed; fetching it again after a pause');
      return retryInMs;
    }
  }

  /** Resumes a paused partition after `delayMs`, unless the runtime stops first. */
  private resumeAfter(resume: () => void, delayMs: number): void {
    if (!this.running) return;
    if (delayMs <= 0) return resume();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      resume();
    }, delayMs);
    this.resumeTimers.add(timer);
  }

  /** After a rebalance: batches of partitions this member no longer holds stop, their handlers aborted. */
  private revokeUnassigned(assignment: Record<string, number[]>): void {
    for (const { batch } of this.inFlight.values()) {
      if (!assignment[batch.topic]?.includes(batch.partition)) batch.revoke('it was assigned to another member');
    }
  }
}

/** A batch's failure that is the database's: a commit that could not reach it, or the runtime's own lookups (kafkajs' errors can carry the same socket codes). */
const isDatabaseOutage = (error: unknown) => (isPipelineError(error) ? error.code === 'database_unavailable' : !(error instanceof KafkaJSError) && isDatabaseUnavailable(error));
