import type { KafkaMessage } from 'kafkajs';
import { deliveryHeaders, fromKafkaRecord, headerNumber, headerString, type EventType, type PipelineEvent } from '@video-pipeline/events';
import { PipelineError } from '@video-pipeline/errors';
import type { Logger } from '@video-pipeline/logging';
import { backoffDelayMs, untilAborted, type Clock, type Random } from '@video-pipeline/retry';
import type { Escalation } from './escalation';
import { classifyFailure, type FailureVerdict } from './failure';
import { handlerOf, type EventHandler, type EventHandlers } from './handlers';
import type { ConsumerMetrics } from './metrics';
import type { Effects } from './processed-events';
import type { RetryPolicy } from './retry-policy';
import type { QueuePlace, WaitingRoom } from './waiting-room';

/** What every delivery of a group uses; made once by the runtime. */
export interface DeliveryParts {
  groupId: string;
  handlers: EventHandlers;
  retryPolicy: RetryPolicy;
  handlerTimeoutMs: number;
  waitingRoom: WaitingRoom;
  escalation: Escalation;
  metrics: ConsumerMetrics;
  /** The group's logger; a delivery's lines add the event's facts. */
  logger: Logger;
  /** Aborted when shutdown's grace period runs out or the partition is revoked: handlers stop, and their work is left uncommitted. */
  shutdown: AbortSignal;
  clock: Clock;
  random: Random;
}

/** The partition a batch comes from, and (on an event's own topic) the videos held behind an event in the retry tiers. */
export class BatchSource {
  constructor(
    readonly topic: string,
    readonly partition: number,
    /** 0 for an event's own topic, n for retry tier n. */
    readonly tier: number,
    private readonly heldKeys: Set<string>,
  ) {}

  /** Whether an earlier event of this key waits in the retry tiers, so this one must wait behind it. */
  isHeld(key: string): boolean {
    return this.tier === 0 && this.heldKeys.has(key);
  }

  /** An event of this key has just gone to the retry tiers: the rest of the batch's events of the key wait behind it. */
  hold(key: string): void {
    this.heldKeys.add(key);
  }
}

/** A delivery whose handler ran to success: its effects wait for the batch's next commit. */
export type Outcome = { handled: true; effects?: Effects } | { handled: false };

const notHandled: Outcome = { handled: false };

/**
 * One record's trip through the runtime: wait behind its video's earlier
 * events if they are in the retry tiers, decode it, skip it if its event was
 * processed, run its handler (a few attempts in place, each within the time
 * limit), and when that fails, hand it to the escalation (a retry tier or
 * the dead-letter topic). A handled event is committed by its batch.
 */
export class Delivery {
  /** The record key: the video id. */
  readonly key: string;
  /** `ce_id` as the record carries it (before it is validated). */
  readonly eventId: string | undefined;
  /** Attempts made so far, across deliveries: the last attempt's number. */
  attempts: number;
  /** The decoded event, once it is. */
  event?: PipelineEvent;
  /** Its place in its video's queue (a retry of the queue's first event), given up when it is done. */
  private place?: QueuePlace;
  private eventLogger?: Logger;

  constructor(
    readonly message: KafkaMessage,
    readonly source: BatchSource,
    private readonly parts: DeliveryParts,
  ) {
    this.key = message.key?.toString() ?? '';
    this.eventId = headerString(message.headers, 'ce_id');
    this.attempts = headerNumber(message.headers, deliveryHeaders.attempts) ?? 0;
  }

  get type(): EventType | 'unknown' {
    return this.event?.type ?? 'unknown';
  }

  /** Carries the event id, video id, type and where the record is on every line. */
  get logger(): Logger {
    this.eventLogger ??= this.parts.logger.child({
      eventId: this.event?.id ?? this.eventId,
      videoId: this.event?.subject ?? this.key,
      type: this.event?.type,
      topic: this.source.topic,
      partition: this.source.partition,
      offset: this.message.offset,
    });
    return this.eventLogger;
  }

  async run(processed: ReadonlySet<string>): Promise<Outcome> {
    const { waitingRoom, escalation, metrics, handlers, groupId } = this.parts;
    if (this.source.isHeld(this.key)) {
      await waitingRoom.enqueue(this.placeInOwnTopic(), this.eventId);
      await escalation.waitBehind(this);
      return notHandled;
    }
    if (this.source.tier > 0) {
      // Of the events queued behind each other, only the first published runs; it gives up its place when done.
      const queued = queuePlaceOf(this.message, this.key);
      const turn = queued ? await waitingRoom.turn(queued) : 'unqueued';
      if (turn === 'behind') {
        await escalation.waitBehind(this);
        return notHandled;
      }
      if (turn === 'first') this.place = queued;
    }

    try {
      this.event = fromKafkaRecord(this.message);
    } catch (error) {
      await escalation.deadLetter(this, classifyFailure(error));
      return notHandled;
    }
    if (processed.has(this.event.id)) {
      this.logger.info('already processed; skipping duplicate');
      metrics.duplicates.inc({ group: groupId, type: this.event.type });
      await this.done();
      return notHandled;
    }
    const handler = handlerOf<EventType>(handlers[this.event.type]);
    if (!handler) {
      await this.done();
      return notHandled;
    }
    return this.attemptUntilDone(handler, this.event);
  }

  /** Where the record stands in its video's queue if it goes to the retry tiers from its own topic. */
  placeInOwnTopic(): QueuePlace {
    return { topic: this.source.topic, key: this.key, offset: this.message.offset };
  }

  /** Its commit failed, in its effects or around them: a failed attempt, retried later or parked. */
  async failedToCommit(error: unknown): Promise<void> {
    const verdict = classifyFailure(error);
    this.countFailure(error, verdict, 'effects failed');
    await this.parts.escalation.afterFailure(this, verdict);
  }

  /** It will not run again here: its video's next queued event may go. */
  async done(): Promise<void> {
    if (this.place) await this.parts.waitingRoom.dequeue(this.place);
    this.place = undefined;
  }

  /** Attempts in place with back-off; then the escalation decides. */
  private async attemptUntilDone(handler: EventHandler<EventType>, event: PipelineEvent): Promise<Outcome> {
    const { retryPolicy, escalation, shutdown, clock, random } = this.parts;
    const before = this.attempts;
    for (let inDelivery = 1; ; inDelivery++) {
      this.attempts = before + inDelivery;
      try {
        const effects = await this.attempt(handler, event);
        return { handled: true, effects: effects ?? undefined };
      } catch (error) {
        if (shutdown.aborted) throw error; // abandoned: left uncommitted for the next owner
        const verdict = classifyFailure(error);
        this.countFailure(error, verdict, 'handler failed');
        // An attempt that ran out of time has held the partition for the whole limit already: the next one waits in a retry tier.
        if (verdict.retriable && inDelivery < retryPolicy.attemptsPerDelivery && verdict.code !== 'handler_timeout') {
          await clock.sleep(backoffDelayMs(retryPolicy.inPlaceBackoff, inDelivery, random), shutdown);
          continue;
        }
        await escalation.afterFailure(this, verdict);
        return notHandled;
      }
    }
  }

  /**
   * One attempt, within the time limit: its signal aborts at the limit or
   * when shutdown's grace runs out, and the attempt is abandoned then.
   * JavaScript cannot stop a handler that ignores its signal: it runs on,
   * and what it returns is dropped.
   */
  private async attempt(handler: EventHandler<EventType>, event: PipelineEvent): Promise<Effects | void> {
    const { groupId, handlerTimeoutMs, shutdown, metrics } = this.parts;
    const signal = AbortSignal.any([shutdown, AbortSignal.timeout(handlerTimeoutMs)]);
    const attempt = this.attempts;
    const started = performance.now();
    const timed = (outcome: 'success' | 'failure') => metrics.handlerDuration.observe({ group: groupId, type: event.type, outcome }, (performance.now() - started) / 1000);
    let work: Promise<Effects | void> | undefined;
    try {
      work = handler(event, { groupId, attempt, logger: this.logger, signal });
      const effects = await untilAborted(work, signal);
      timed('success');
      return effects;
    } catch (error) {
      timed('failure');
      if (!work || !signal.aborted || error !== signal.reason) throw error;
      const settledLate = () => this.logger.warn({ attempt, durationMs: Math.round(performance.now() - started) }, 'abandoned handler attempt settled late; its result is dropped');
      work.then(settledLate, settledLate);
      if (shutdown.aborted) throw error;
      throw new PipelineError('handler_timeout', `the handler ran past its limit of ${handlerTimeoutMs} ms (handlerTimeoutMs) and was abandoned; its signal is aborted`);
    }
  }

  private countFailure(error: unknown, verdict: FailureVerdict, what: string): void {
    this.parts.metrics.failed.inc({ group: this.parts.groupId, type: this.type, code: verdict.code });
    this.logger.warn({ err: error, attempt: this.attempts, retriable: verdict.retriable }, what);
  }
}

/** Where a record in a retry tier was first published, as the runtime noted when it forwarded it. */
function queuePlaceOf(message: KafkaMessage, key: string): QueuePlace | undefined {
  const topic = headerString(message.headers, deliveryHeaders.originalTopic);
  const offset = headerString(message.headers, deliveryHeaders.originalOffset);
  return topic !== undefined && offset !== undefined && /^\d+$/.test(offset) ? { topic, key, offset } : undefined;
}
