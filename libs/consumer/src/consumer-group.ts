import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJSError, type Consumer, type EachBatchPayload, type IHeaders, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { isDatabaseUnavailable, type PrismaClient } from '@video-pipeline/db';
import { deadLetterTopic, deliveryHeaders, eventCatalog, type EventType, fromKafkaRecord, headerNumber, headerString, isUuid, originalHeaders, type PipelineEvent, retryTierDelaysMs, retryTopic } from '@video-pipeline/events';
import { isPipelineError, PipelineError } from '@video-pipeline/errors';
import { createProducer } from '@video-pipeline/kafka';
import type { Logger } from '@video-pipeline/logging';
import { CommitQueue } from './commit-queue';
import { classifyFailure, type FailureVerdict } from './failure';
import type { EventHandler, EventHandlers, HandlerContext } from './handlers';
import { HandlerTimeLimit, type AbandonedAttemptListener, type AttemptLane } from './handler-time-limit';
import { failedInEffects, IdempotencyStore, mayHaveBeenProcessed, type Completion, type Origin } from './idempotency';
import { WaitingRoom, type QueuePlace } from './waiting-room';
import { ConsumerMetrics } from './metrics';
import type { HistogramSeries } from './series-histogram';
import { backoffDelayMs, defaultRetryPolicy, validateRetryPolicy, withJitter, type BackoffPolicy, type RetryPolicy } from './retry-policy';

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
  /** Partitions this instance works on at once. Default 3. */
  partitionsConcurrently?: number;
  /** The broker drops a member silent for this long. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s; the runtime also heartbeats while a handler runs. */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to finish their batch: sized for the longest handler. Default 15 min. */
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
  /** Handled events whose effects are committed in one transaction, at most. Default 1000. */
  maxCommitBatch?: number;
  /** Longest a handled event waits for its commit, however long the handlers after it run. Default 50 ms. */
  maxCommitDelayMs?: number;
  /**
   * How long a transaction that applies handlers' effects may run (and,
   * before it, wait for a connection); past it, it rolls back. A batch's
   * events are then committed one at a time, and one whose own transaction
   * runs past it fails with `commit_timeout` (retried, then parked, like a
   * failed handler). Default 60 s.
   */
  commitTimeoutMs?: number;
  /**
   * How long a fetch waits for new records before returning empty. It also
   * bounds how late a paused retry tier resumes after its delay and how long
   * `stop()` waits for an idle fetch, since neither can cut a fetch short.
   * Default 1 s.
   */
  fetchMaxWaitMs?: number;
}

/** What the runtime keeps of an event after its handler ran: enough to log, count and forward it, not its data. */
type EventFacts = Pick<PipelineEvent, 'id' | 'type' | 'subject'>;

type Outcome =
  | { kind: 'handled'; event: EventFacts; completion: Completion; attempt: number; place?: QueuePlace }
  | { kind: 'settled' }; // skipped as duplicate, retried later or dead-lettered: nothing left to commit

/** A handled event waiting for its effects and idempotency record to be committed. */
interface Handled {
  message: KafkaMessage;
  event: EventFacts;
  completion: Completion;
  attempt: number;
  key: string;
  /** Its place in its key's queue, given up once it is committed. */
  place?: QueuePlace;
}

/** Where a batch's records come from. */
interface Source {
  topic: string;
  partition: number;
  /** 0 for the event's own topic, n for retry tier n. */
  tier: number;
  /** At tier 0, the keys whose earlier events wait in the retry tiers (see WaitingRoom). */
  held?: Set<string>;
  /** At tier 0, this partition: where its events were first published (one object, shared by the batch's completions). */
  origin?: Origin;
  /** At tier 0, the version of the partition's idempotency records that its next commit expects (see IdempotencyStore). */
  nextVersion?: number;
}

interface Defaults {
  topicPrefix: string;
  retryPolicy: RetryPolicy;
  partitionsConcurrently: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  shutdownGraceMs: number;
  maxCommitBatch: number;
  maxCommitDelayMs: number;
  fetchMaxWaitMs: number;
}

const defaults: Defaults = {
  topicPrefix: '',
  retryPolicy: defaultRetryPolicy,
  partitionsConcurrently: 3,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 15 * 60_000,
  shutdownGraceMs: 30_000,
  // Fewer, larger commits cost Postgres less per event (about 15% less CPU than 500 in bench/consumer-throughput.ts).
  maxCommitBatch: 1000,
  maxCommitDelayMs: 50,
  fetchMaxWaitMs: 1_000,
};

/**
 * Runs one consumer group's handlers with at-least-once delivery and
 * effectively-once effects:
 *
 * - per partition, events are handled in order and an offset is resolved only
 *   after its event was handled and recorded, retried elsewhere or parked;
 * - handled events are committed in small batches (effects plus idempotency
 *   record in one transaction), never later than `maxCommitDelayMs`, and
 *   before anything breaks off the batch (a rebalance, shutdown);
 * - a failing handler gets a few quick attempts; then the event (or one
 *   whose effects failed to commit) moves to a delay topic
 *   (`<group>.retry.<n>`) so the rest of its partition goes on, and after
 *   the last tier to `<group>.dlq` with the error and its origin;
 * - handlers heartbeat while they work, so long work keeps the membership;
 * - `stop()` stops fetching, lets in-flight work finish within the grace
 *   period or abandons it uncommitted, and leaves the group.
 */
export class ConsumerGroupRuntime {
  readonly groupId: string;
  private readonly options: Defaults & ConsumerGroupOptions;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly idempotency: IdempotencyStore;
  private readonly waitingRoom: WaitingRoom;
  /** Counters of this instance (processed, failed, retried, dead-lettered, ...); its `registry` is what /metrics serves. */
  readonly metrics: ConsumerMetrics;
  private readonly logger: Logger;
  private readonly shutdown = new AbortController();
  private readonly handlerTimeLimit: HandlerTimeLimit;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly tierByTopic = new Map<string, number>();
  private readonly durationSeries = new Map<EventType, { success: HistogramSeries; failure: HistogramSeries }>();
  private readonly sourceTopics: string[];
  private running = false;
  private stopping?: Promise<void>;
  /** Batches the database failed since one last succeeded: sets the back-off before the next is fetched again. */
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
    this.handlerTimeLimit = new HandlerTimeLimit(handlerTimeoutMs, heartbeatIntervalMs);

    this.groupId = topicPrefix + group;
    this.logger = options.logger.child({ group: this.groupId });
    this.metrics = options.metrics ?? new ConsumerMetrics();
    this.idempotency = new IdempotencyStore(options.prisma, this.groupId, { commitTimeoutMs: options.commitTimeoutMs });
    this.waitingRoom = new WaitingRoom(options.prisma, this.groupId);
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
      // Small fetches keep a batch's worth of unfinished work short if the worker dies.
      maxBytesPerPartition: 1024 * 1024,
    });
    this.producer = createProducer(options.kafka);
  }

  /** Topics this instance subscribes to: the events it handles plus its retry tiers. */
  get topics(): string[] {
    return [...this.sourceTopics, ...this.tierByTopic.keys()];
  }

  get deadLetterTopic(): string {
    return this.options.topicPrefix + deadLetterTopic(this.options.group);
  }

  /** Joins the group and starts consuming; resolves once the consumer runs. */
  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    this.running = true;
    this.handlerTimeLimit.start();
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
    // disconnect() waits for running batches, commits resolved offsets and leaves the group.
    const disconnected = this.consumer.disconnect().then(
      () => 'stopped' as const,
      (error: unknown) => {
        this.logger.warn({ err: error }, 'consumer did not disconnect cleanly');
        return 'failed' as const;
      },
    );
    if ((await within(disconnected, graceMs - reserveMs)) === 'timeout') {
      this.logger.warn({ graceMs }, 'in-flight work did not finish within the grace period; abandoning it uncommitted');
      this.shutdown.abort();
      if ((await within(disconnected, reserveMs)) === 'timeout') {
        this.logger.warn({ reserveMs }, 'aborted work did not stop in time; its partitions move once the session times out');
      }
    }
    this.handlerTimeLimit.stop();
    await this.producer.disconnect().catch(() => undefined);
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    try {
      await this.runBatch(payload);
    } catch (error) {
      if (!this.running || !isDatabaseOutage(error)) throw error;
      await this.waitOutOutage(payload, error);
      return;
    }
    this.outages = 0;
  }

  /**
   * Pauses a batch that the database failed, then ends it normally: its
   * unresolved records are fetched again. Thrown to kafkajs instead, each
   * failure would be logged as an error, its back-off would never reset
   * (after a few blips in a worker's life, the next would stall it for up
   * to 30 s), and once its retries ran out it would restart the consumer,
   * rebalancing the whole group.
   */
  private async waitOutOutage({ batch, heartbeat, isRunning }: EachBatchPayload, error: unknown): Promise<void> {
    this.outages += 1;
    const delayMs = backoffDelayMs(this.outages, outageBackoff, this.options.retryPolicy.jitter);
    this.logger.warn({ err: error, topic: batch.topic, partition: batch.partition, retryInMs: delayMs }, 'database unavailable; fetching the batch again after a pause');
    const until = Date.now() + delayMs;
    while (this.running && isRunning() && Date.now() < until) {
      await sleep(Math.min(until - Date.now(), this.options.heartbeatIntervalMs));
      try {
        await heartbeat();
      } catch {
        return; // a rebalance: kafkajs rejoins once the batch ends
      }
    }
  }

  private async runBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale, pause } = payload;
    const tier = this.tierByTopic.get(batch.topic) ?? 0;
    const { lookingUpHead, lookingUpTail } = this.lookUp(batch, tier);
    lookingUpTail.catch(() => undefined); // awaited once handling reaches the tail, or never if the batch ends first
    const [{ processed, version }, held] = await Promise.all([lookingUpHead, tier === 0 ? this.waitingRoom.heldKeys(batch.topic) : undefined]);

    const source: Source = { topic: batch.topic, partition: batch.partition, tier, held, origin: tier === 0 ? { topic: batch.topic, partition: batch.partition } : undefined, nextVersion: version };
    const commits = new CommitQueue<Handled>(
      (entries) => this.complete(entries, source, processed),
      async (entries) => {
        resolveOffset(entries.at(-1)!.message.offset);
        await commitOffsetsIfNecessary();
      },
      this.options.maxCommitBatch,
      this.options.maxCommitDelayMs,
    );
    const lane = this.handlerTimeLimit.lane();
    // One heartbeat timer for the whole batch, so long handlers and back-offs keep the membership.
    const heartbeats = setInterval(() => {
      heartbeat().catch((error: unknown) => this.logger.debug({ err: error }, 'heartbeat during handler failed (rebalance in progress?)'));
    }, this.options.heartbeatIntervalMs);

    let lastOffset: string | undefined;
    let lastHeartbeat = Date.now();
    try {
      const { messages } = batch;
      for (let index = 0; index < messages.length; index++) {
        const message = messages[index]!;
        // Only a seek makes a batch stale, and the runtime never seeks; asking kafkajs costs a map lookup per record, so ask now and then.
        if (!isRunning() || !this.running || (index % 64 === 0 && isStale())) break;
        // Handlers that finish at once give the event loop no turn: commit results, timers and /metrics would wait for the batch's end.
        if (index % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();

        if (tier > 0) {
          const dueInMs = (headerNumber(message.headers, deliveryHeaders.retryAt) ?? 0) - Date.now();
          if (dueInMs > 0) {
            // Not due yet: stop this partition until it is. The offset stays unresolved, so the
            // same record is fetched again on resume; other partitions go on meanwhile.
            await commits.flush();
            const resume = pause();
            const timer = setTimeout(() => {
              this.resumeTimers.delete(timer);
              resume();
            }, dueInMs);
            this.resumeTimers.add(timer);
            break;
          }
        }

        // Keep one key's events causal: an event never runs before the previous one for its key is committed.
        const key = message.key?.toString() ?? '';
        const earlier = commits.ready(key);
        if (earlier) await earlier;

        if (index === HEAD_LOOKUP) for (const id of await lookingUpTail) processed.add(id);
        const outcome = await this.deliver(message, key, source, processed, lane);
        if (outcome.kind === 'handled') {
          const { event, completion, attempt, place } = outcome;
          const full = commits.add({ message, key, event, completion, attempt, place });
          if (full) await full;
        } else {
          await commits.flush();
          resolveOffset(message.offset);
          await commitOffsetsIfNecessary();
        }
        lastOffset = message.offset;
        // Between events too, not only on the timer: a heartbeat is how a rebalance is noticed, ending the batch early.
        if (Date.now() - lastHeartbeat >= this.options.heartbeatIntervalMs) {
          lastHeartbeat = Date.now();
          await heartbeat();
        }
      }
      await commits.flush();
    } catch (error) {
      // Whatever broke off the batch (a rebalance seen by a heartbeat, a lost connection, shutdown),
      // the events already handled are done: record them, so no owner of the partition runs them again.
      await commits.flush().catch((commitError: unknown) => {
        if (commitError !== error) this.logger.warn({ err: commitError }, 'could not record handled events; they will be handled again');
      });
      throw error;
    } finally {
      clearInterval(heartbeats);
      lane.close();
      commits.dispose();
      if (lastOffset !== undefined) {
        this.metrics.lag.set({ group: this.groupId, topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(lastOffset) - 1));
      }
    }
  }

  /**
   * Which events of the batch the group processed before. The head is looked
   * up on its own, so handling starts after a short query. From an event's
   * own topic, the head's lookup also gives the partition's watermark, and the
   * tail is looked up only for ids at or below it: in a live stream, none.
   */
  private lookUp(batch: EachBatchPayload['batch'], tier: number): { lookingUpHead: Promise<{ processed: Set<string>; version?: number }>; lookingUpTail: Promise<Set<string>> } {
    const head = batch.messages.slice(0, HEAD_LOOKUP);
    const tail = batch.messages.slice(HEAD_LOOKUP);
    if (tier > 0) return { lookingUpHead: this.idempotency.processed(eventIds(head)).then((processed) => ({ processed })), lookingUpTail: this.idempotency.processed(eventIds(tail)) };
    // A record without a key may have copies on any partition: the watermark says nothing about it, so it is always looked up.
    const lookup = this.idempotency.processedFrom({ topic: batch.topic, partition: batch.partition }, eventIds(head.filter(isKeyed)));
    const lookingUpUnkeyedHead = this.idempotency.processed(eventIds(head.filter((message) => !isKeyed(message))));
    const lookingUpHead = Promise.all([lookup, lookingUpUnkeyedHead]).then(([{ processed, version }, unkeyed]) => ({ processed: unkeyed.size > 0 ? new Set([...processed, ...unkeyed]) : processed, version }));
    const lookingUpTail = lookup.then(({ watermark }) => {
      const mayBeCopies = tail.filter((message) => !isKeyed(message) || mayHaveBeenProcessed(headerString(message.headers, 'ce_id') ?? '', watermark));
      return this.idempotency.processed(eventIds(mayBeCopies));
    });
    return { lookingUpHead, lookingUpTail };
  }

  /**
   * One delivery of one record: wait behind its key's earlier events if they
   * are in the retry tiers, decode, skip duplicates, attempt, and on failure
   * retry later or park it. Its attempts run in `lane`, within the time limit.
   */
  private async deliver(message: KafkaMessage, key: string, source: Source, processed: Set<string>, lane: AttemptLane): Promise<Outcome> {
    const priorAttempts = headerNumber(message.headers, deliveryHeaders.attempts) ?? 0;
    if (source.held?.has(key)) {
      await this.waitingRoom.enqueue({ topic: source.topic, key, offset: message.offset }, headerString(message.headers, 'ce_id'));
      await this.waitBehind(message, source, priorAttempts);
      return { kind: 'settled' };
    }
    // In a retry tier, an event queued behind others of its key waits on; the first of them runs and later gives up its place.
    const queued = source.tier > 0 ? queuePlaceOf(message, key) : undefined;
    const turn = queued ? await this.waitingRoom.turn(queued) : 'unqueued';
    if (turn === 'behind') {
      await this.waitBehind(message, source, priorAttempts);
      return { kind: 'settled' };
    }
    const place = turn === 'first' ? queued : undefined;

    let event: PipelineEvent;
    try {
      event = fromKafkaRecord(message);
    } catch (error) {
      await this.deadLetter(message, source, priorAttempts, classifyFailure(error), 'unknown', place);
      return { kind: 'settled' };
    }

    const context = new EventContext(this.groupId, this.shutdown.signal, () => this.loggerFor(event, message, source));
    if (processed.has(event.id)) {
      context.logger.info('already processed; skipping duplicate');
      this.metrics.duplicates.inc({ group: this.groupId, type: event.type });
      if (place) await this.waitingRoom.dequeue([place]);
      return { kind: 'settled' };
    }

    const handler = this.options.handlers[event.type];
    if (handler === 'ignore') {
      if (place) await this.waitingRoom.dequeue([place]);
      return { kind: 'settled' };
    }

    const { attemptsPerDelivery, inPlaceBackoff, jitter } = this.options.retryPolicy;
    for (let attemptInDelivery = 1; ; attemptInDelivery++) {
      const attempt = priorAttempts + attemptInDelivery;
      const started = performance.now();
      context.attempt = attempt;
      try {
        const effects = await lane.run((handler as EventHandler<EventType>)(event, context), context, started);
        context.endAttempt();
        this.durations(event.type).success.observe(secondsSince(started));
        // Pending events keep only their facts, so the data they were parsed into dies young.
        const completion = { eventId: event.id, effects: effects ?? undefined, origin: firstPublished(message, source) };
        return { kind: 'handled', event: { id: event.id, type: event.type, subject: event.subject }, attempt, place, completion };
      } catch (error) {
        context.endAttempt();
        this.durations(event.type).failure.observe(secondsSince(started));
        const verdict = classifyFailure(error);
        this.metrics.failed.inc({ group: this.groupId, type: event.type, code: verdict.code });
        context.logger.warn({ err: error, attempt, retriable: verdict.retriable }, 'handler failed');
        if (this.shutdown.signal.aborted) throw error; // abandoned: leave it uncommitted for the next owner

        // An attempt that ran out of time has held the partition for the whole limit already: the next one waits in a retry tier.
        if (verdict.retriable && attemptInDelivery < attemptsPerDelivery && !isHandlerTimeout(error)) {
          await sleep(backoffDelayMs(attemptInDelivery, inPlaceBackoff, jitter), undefined, { signal: this.shutdown.signal });
          continue;
        }
        await this.escalate(message, key, source, event, attempt, verdict, context.logger, place);
        return { kind: 'settled' };
      }
    }
  }

  /**
   * Commits handled events' effects with their idempotency records: all in
   * one transaction, or if that fails, one by one, so that effects that fail
   * count as a failed attempt of their own event alone (then retried later or
   * parked, like a handler that threw) and the others still commit. An event
   * that fails alone outside its effects shows the fault is the commit's (a
   * lock held elsewhere, the database): the rest would only wait for it one
   * by one, so they fail with it at once. A database that is unavailable
   * fails the batch instead (see `failCommit`).
   */
  private async complete(entries: readonly Handled[], source: Source, processed: Set<string>): Promise<void> {
    const failure = await this.tryCommit(entries, source, processed);
    if (!failure) return;
    if (entries.length === 1 || isDatabaseUnavailable(failure.error)) return this.failCommit(entries, source, failure.error);
    this.logger.warn({ err: failure.error, events: entries.length, topic: source.topic, partition: source.partition }, 'commit failed; committing its events one at a time');
    for (const [index, entry] of entries.entries()) {
      const alone = await this.tryCommit([entry], source, processed);
      if (!alone) continue;
      if (failedInEffects(alone.error)) {
        await this.failCommit([entry], source, alone.error);
        continue;
      }
      const rest = entries.slice(index);
      if (rest.length > 1) this.logger.warn({ err: alone.error, events: rest.length, topic: source.topic, partition: source.partition }, 'an event failed to commit alone, not in its effects; failing the rest of the batch with it');
      return this.failCommit(rest, source, alone.error);
    }
  }

  /**
   * Each event's failed commit, as a failed attempt: retried later or parked.
   * Unless the database is unavailable (a restart, a failover, a dropped
   * connection): that is no fault of the events, and the retry tiers would
   * only spend their attempts on it and park them. The batch fails instead,
   * its events stay unresolved, and it pauses before they are fetched again
   * (see `handleBatch`): the partition waits for the database, as it must.
   */
  private async failCommit(entries: readonly Handled[], source: Source, error: unknown): Promise<void> {
    if (isDatabaseUnavailable(error)) {
      throw new PipelineError('database_unavailable', `could not commit ${entries.length} handled event(s) of ${source.topic}[${source.partition}]: the database is unavailable; they will be delivered again`, { cause: error });
    }
    const verdict = classifyFailure(error);
    for (const entry of entries) {
      const logger = this.loggerFor(entry.event, entry.message, source);
      this.metrics.failed.inc({ group: this.groupId, type: entry.event.type, code: verdict.code });
      logger.warn({ err: error, attempt: entry.attempt, retriable: verdict.retriable }, 'effects failed');
      await this.escalate(entry.message, entry.key, source, entry.event, entry.attempt, verdict, logger, entry.place);
    }
  }

  /** One commit of `entries`; what it failed with, if it did. */
  private async tryCommit(entries: readonly Handled[], source: Source, processed: Set<string>): Promise<{ error: unknown } | undefined> {
    // Every commit of the partition's events raises its version once, in the order commits start (this call's first step).
    const expectedVersion = source.nextVersion;
    if (expectedVersion !== undefined) source.nextVersion = expectedVersion + 1;
    let fresh: Set<string>;
    try {
      fresh = await this.idempotency.complete(entries.map((entry) => entry.completion), expectedVersion);
    } catch (error) {
      if (this.shutdown.signal.aborted) throw error; // abandoned: leave it uncommitted for the next owner
      return { error };
    }
    const places = entries.flatMap((entry) => (entry.place ? [entry.place] : []));
    if (places.length > 0) await this.waitingRoom.dequeue(places);
    // Counted per event type, once per commit: a labelled counter costs a label lookup per call.
    const counts = new Map<string, { fresh: number; duplicate: number }>();
    for (const entry of entries) {
      // A later copy in this batch (same key, so it waited for this commit) is now a duplicate, not a rerun.
      processed.add(entry.completion.eventId);
      const count = counts.get(entry.event.type) ?? { fresh: 0, duplicate: 0 };
      if (fresh.has(entry.completion.eventId)) count.fresh += 1;
      else count.duplicate += 1;
      counts.set(entry.event.type, count);
    }
    for (const [type, count] of counts) {
      if (count.fresh > 0) this.metrics.processed.inc({ group: this.groupId, type }, count.fresh);
      if (count.duplicate > 0) this.metrics.duplicates.inc({ group: this.groupId, type }, count.duplicate);
    }
    return undefined;
  }

  /**
   * The one decision after a failed attempt: the next retry tier, or the
   * dead-letter topic if the error is permanent or the tiers are used up.
   * An event leaving its own topic for the tiers takes a place in its key's
   * queue first, so the key's later events wait behind it.
   */
  private async escalate(message: KafkaMessage, key: string, source: Source, event: EventFacts, attempt: number, verdict: FailureVerdict, logger: Logger, place: QueuePlace | undefined): Promise<void> {
    const nextTier = source.tier + 1;
    if (!verdict.retriable || nextTier > this.options.retryPolicy.tierDelaysMs.length) {
      await this.deadLetter(message, source, attempt, verdict, event.type, place);
      return;
    }
    if (source.tier === 0) {
      await this.waitingRoom.enqueue({ topic: source.topic, key, offset: message.offset }, event.id);
      source.held?.add(key);
    }
    await this.sendToRetryTier(message, source, attempt, nextTier, verdict);
    this.metrics.retried.inc({ group: this.groupId, type: event.type, tier: String(nextTier) });
    logger.info({ attempt, tier: nextTier }, 'moved to retry tier');
  }

  /** The handler-duration series of one event type, looked up once: observing happens for every event. */
  private durations(type: EventType): { success: HistogramSeries; failure: HistogramSeries } {
    let series = this.durationSeries.get(type);
    if (!series) {
      const histogram = this.metrics.handlerDuration;
      series = {
        success: histogram.series({ group: this.groupId, type, outcome: 'success' }),
        failure: histogram.series({ group: this.groupId, type, outcome: 'failure' }),
      };
      this.durationSeries.set(type, series);
    }
    return series;
  }

  private loggerFor(event: EventFacts, message: KafkaMessage, source: Source): Logger {
    return this.logger.child({ eventId: event.id, videoId: event.subject, type: event.type, topic: source.topic, partition: source.partition, offset: message.offset });
  }

  /**
   * Sends an event whose key is held to wait in a retry tier: the next one,
   * or the last one again. No attempt is counted: it has not run.
   */
  private async waitBehind(message: KafkaMessage, source: Source, attempts: number): Promise<void> {
    const tier = Math.min(source.tier + 1, this.options.retryPolicy.tierDelaysMs.length);
    await this.sendToRetryTier(message, source, attempts, tier); // it has not failed: no error headers
    this.metrics.held.inc({ group: this.groupId, tier: String(tier) });
  }

  private async sendToRetryTier(message: KafkaMessage, source: Source, attempts: number, tier: number, verdict?: FailureVerdict) {
    const delayMs = withJitter(this.options.retryPolicy.tierDelaysMs[tier - 1]!, this.options.retryPolicy.jitter);
    await this.forward(this.options.topicPrefix + retryTopic(this.options.group, tier), message, source, attempts, verdict, {
      [deliveryHeaders.tier]: String(tier),
      [deliveryHeaders.retryAt]: String(Date.now() + delayMs),
    });
  }

  /** Parks the record in the dead-letter topic; its key's later events, if they wait behind it, go on. */
  private async deadLetter(message: KafkaMessage, source: Source, attempts: number, verdict: FailureVerdict, type: string, place?: QueuePlace) {
    await this.forward(this.deadLetterTopic, message, source, attempts, verdict, {
      [deliveryHeaders.group]: this.groupId,
      [deliveryHeaders.failedAt]: new Date().toISOString(),
    });
    if (place) await this.waitingRoom.dequeue([place]);
    this.metrics.deadLettered.inc({ group: this.groupId, type, code: verdict.code });
    this.logger.warn(
      { eventId: headerString(message.headers, 'ce_id'), videoId: message.key?.toString(), topic: source.topic, partition: source.partition, offset: message.offset, attempts, code: verdict.code, error: verdict.message },
      'parked in the dead-letter topic',
    );
  }

  /** Re-publishes the record as it came, with its origin, the attempts so far and the last error. */
  private async forward(topic: string, message: KafkaMessage, source: Source, attempts: number, verdict: FailureVerdict | undefined, extra: IHeaders): Promise<void> {
    await this.producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...this.originOf(message, source),
            [deliveryHeaders.attempts]: String(attempts),
            ...(verdict ? { [deliveryHeaders.errorCode]: verdict.code, [deliveryHeaders.errorMessage]: truncate(verdict.message) } : {}),
            ...extra,
          },
        },
      ],
    });
  }

  /** Where the record was first published; kept as it moves through tiers. */
  private originOf(message: KafkaMessage, source: Source): IHeaders {
    const kept = (name: string, own: string) => (source.tier > 0 ? headerString(message.headers, name) ?? own : own);
    return {
      ...originalHeaders(message.headers),
      [deliveryHeaders.originalTopic]: kept(deliveryHeaders.originalTopic, source.topic),
      [deliveryHeaders.originalPartition]: kept(deliveryHeaders.originalPartition, String(source.partition)),
      [deliveryHeaders.originalOffset]: kept(deliveryHeaders.originalOffset, message.offset),
    };
  }
}

/**
 * What a handler gets. Its logger, with the event's facts on every line, and
 * its attempt's signal are made on first use: most handlers of a busy
 * stream need neither, and this is made for every event.
 */
class EventContext implements HandlerContext, AbandonedAttemptListener {
  attempt = 1;
  private eventLogger?: Logger;
  private attemptAbort?: AbortController;

  constructor(
    readonly groupId: string,
    private readonly shutdown: AbortSignal,
    private readonly makeLogger: () => Logger,
  ) {}

  get logger(): Logger {
    this.eventLogger ??= this.makeLogger();
    return this.eventLogger;
  }

  /** Aborted when this attempt runs out of time or shutdown's grace period runs out. */
  get signal(): AbortSignal {
    if (!this.attemptAbort) {
      this.attemptAbort = new AbortController();
      if (this.shutdown.aborted) this.attemptAbort.abort(this.shutdown.reason);
      else this.shutdown.addEventListener('abort', this, { once: true });
    }
    return this.attemptAbort.signal;
  }

  /** Shutdown's abort, passed on to the attempt's signal (the context listens as an object: no closure per event). */
  handleEvent(): void {
    this.attemptAbort?.abort(this.shutdown.reason);
  }

  abandoned(error: PipelineError): void {
    this.shutdown.removeEventListener('abort', this);
    (this.attemptAbort ??= new AbortController()).abort(error);
  }

  settledLate(ms: number): void {
    this.logger.warn({ attempt: this.attempt, durationMs: Math.round(ms) }, 'abandoned handler attempt settled late; its result is dropped');
  }

  /** The next attempt gets a signal of its own. */
  endAttempt(): void {
    // An abandoned attempt's handler may run on and read its signal later: that one stays aborted.
    if (!this.attemptAbort || this.attemptAbort.signal.aborted) return;
    this.shutdown.removeEventListener('abort', this);
    this.attemptAbort = undefined;
  }
}

const isHandlerTimeout = (error: unknown) => isPipelineError(error) && error.code === 'handler_timeout';

/** A batch's failure that is the database's: a commit that could not reach it, or the runtime's own lookups (kafkajs' errors can carry the same socket codes). */
const isDatabaseOutage = (error: unknown) => (isPipelineError(error) ? error.code === 'database_unavailable' : !(error instanceof KafkaJSError) && isDatabaseUnavailable(error));

/** Pauses between fetches of a batch while the database is unavailable: soon after a blip, every 5 s in a long outage. */
const outageBackoff: BackoffPolicy = { initialMs: 250, maxMs: 5_000, multiplier: 2 };

/** The ids of the records that can be events (malformed ones are dead-lettered when their turn comes). */
function eventIds(messages: readonly KafkaMessage[]): string[] {
  return messages.map((message) => headerString(message.headers, 'ce_id')).filter(isUuid);
}


/** The partition a record was first published to: its own, or for a retry tier's, the one the runtime noted when it forwarded it; unknown for an unkeyed record. */
function firstPublished(message: KafkaMessage, source: Source): Origin | undefined {
  // Copies of a record without a key may be on any partition.
  if (!isKeyed(message)) return undefined;
  if (source.origin) return source.origin;
  const topic = headerString(message.headers, deliveryHeaders.originalTopic);
  const partition = headerNumber(message.headers, deliveryHeaders.originalPartition);
  return topic !== undefined && partition !== undefined && Number.isInteger(partition) ? { topic, partition } : undefined;
}

/** Where a record in a retry tier was first published, as the runtime noted when it forwarded it. */
function queuePlaceOf(message: KafkaMessage, key: string): QueuePlace | undefined {
  const topic = headerString(message.headers, deliveryHeaders.originalTopic);
  const offset = headerString(message.headers, deliveryHeaders.originalOffset);
  return topic !== undefined && offset !== undefined && /^\d+$/.test(offset) ? { topic, key, offset } : undefined;
}

const isKeyed = (message: KafkaMessage) => message.key !== null && message.key.length > 0;

/**
 * Events handled between turns of the event loop. Without the turns, a batch
 * of quick events would run to its end or until its commits fill up, and
 * commits would be read only then: in the consumer benchmark, batches spent
 * about a third of their time waiting for commits whose results had already
 * arrived.
 */
const YIELD_EVERY = 64;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records of a batch whose duplicate lookup is awaited before handling starts. */
const HEAD_LOOKUP = 64;

const secondsSince = (started: number) => (performance.now() - started) / 1000;

const truncate = (text: string, max = 2_000) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** `work`'s outcome, or 'timeout' if it takes longer than `ms`. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
