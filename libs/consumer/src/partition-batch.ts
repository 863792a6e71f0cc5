import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { isDatabaseUnavailable } from '@video-pipeline/db';
import { deliveryHeaders, headerNumber, headerString, isUuid } from '@video-pipeline/events';
import { PipelineError } from '@video-pipeline/errors';
import { BatchSource, Delivery, type DeliveryParts, type Outcome } from './delivery';
import { EffectsFailed, type Effects, type ProcessedEvents } from './processed-events';

/** What a batch uses beyond what its deliveries do; made once by the runtime. */
export interface BatchParts extends DeliveryParts {
  processedEvents: ProcessedEvents;
  /** Handled events committed together, at most. */
  maxCommitBatch: number;
  /** Longest a commit waits for more events after the first of them started. */
  maxCommitDelayMs: number;
  heartbeatIntervalMs: number;
  /** 0 for an event's own topic, n for retry tier n. */
  tierOf(topic: string): number;
  /** Whether the runtime still runs (not stopping). */
  isRunning(): boolean;
}

/** A handled event waiting for its batch's next commit. */
interface Handled {
  delivery: Delivery;
  eventId: string;
  effects?: Effects;
}

/**
 * One fetched batch of one partition, handled in order, while the runtime
 * keeps its partition paused (the fetch loop goes on with the others).
 * Handled events are
 * committed together (their effects and idempotency records in one
 * transaction) once `maxCommitBatch` have gathered or `maxCommitDelayMs`
 * after the first of them started, before an event of the same video runs,
 * before the batch pauses, and when it ends. An offset is resolved only
 * after every handled event up to it is committed: a crash never commits
 * unfinished work. Events that did not run (duplicates, retries moved to a
 * tier, dead letters) are done, and resolve with the commit after them.
 */
export class PartitionBatch {
  private readonly source: BatchSource;
  private processed = new Set<string>();
  /** Handled since the last commit, in order. */
  private uncommitted: Handled[] = [];
  private uncommittedKeys = new Set<string>();
  /** The last record delivered: its offset resolves with the next commit. */
  private lastOffset?: string;
  /** When the first delivery since the last commit started (performance.now). */
  private firstStartedAt?: number;
  /** The last record delivered in this batch, for the lag it leaves. */
  private lastDelivered?: string;
  /** The last offset resolved, to commit at the batch's end. */
  private resolved?: string;
  /** How long the partition should stay paused after the batch: until a retry tier's next record is due. */
  private dueInMs = 0;
  /** Aborted when the partition is revoked: handlers stop, and nothing more is committed to the partition. */
  private readonly revocation = new AbortController();
  /** The runtime's parts, with the batch's own abort signal: shutdown's, or the partition's revocation. */
  private readonly batchParts: BatchParts;

  constructor(
    private readonly payload: EachBatchPayload,
    private readonly parts: BatchParts,
  ) {
    const { topic, partition } = payload.batch;
    this.source = new BatchSource(topic, partition, parts.tierOf(topic), new Set());
    this.batchParts = { ...parts, shutdown: AbortSignal.any([parts.shutdown, this.revocation.signal]) };
  }

  get topic(): string {
    return this.source.topic;
  }

  get partition(): number {
    return this.source.partition;
  }

  get revoked(): boolean {
    return this.revocation.signal.aborted;
  }

  /**
   * The partition went to another member (a rebalance), or the consumer
   * restarts: the handler running now is aborted, the batch stops before its
   * next record, and no offset is committed for it any more (the new owner's
   * would be overwritten). Events already handled are still recorded: the
   * idempotency key keeps their effects once whoever commits first.
   */
  revoke(why: string): void {
    this.revocation.abort(new PipelineError('partition_revoked', `${this.source.topic}[${this.source.partition}]: ${why}`));
  }

  /**
   * Handles the batch; resolves with how long its partition should stay
   * paused (0, or until a retry tier's next record is due).
   */
  async run(): Promise<number> {
    const { batch, heartbeat, isRunning, isStale } = this.payload;
    const { waitingRoom, processedEvents, heartbeatIntervalMs, logger } = this.parts;
    const [processed, held] = await Promise.all([processedEvents.processedOf(eventIds(batch.messages)), this.source.tier === 0 ? waitingRoom.heldKeys(batch.topic) : new Set<string>()]);
    this.processed = processed;
    for (const key of held) this.source.hold(key);

    // The fetch loop heartbeats too; this timer keeps the membership while every partition of the instance is busy.
    const heartbeats = setInterval(() => {
      heartbeat().catch((error: unknown) => logger.debug({ err: error }, 'heartbeat during handler failed (rebalance in progress?)'));
    }, heartbeatIntervalMs);
    try {
      for (const message of batch.messages) {
        if (!isRunning() || !this.parts.isRunning() || isStale() || this.revoked) break;
        if (this.source.tier > 0 && (await this.pausedUntilDue(message))) break;
        const delivery = new Delivery(message, this.source, this.batchParts);
        // One video's events stay causal: an event never runs before the previous one of its video is committed.
        if (this.uncommittedKeys.has(delivery.key)) await this.commit();
        this.firstStartedAt ??= performance.now();
        this.add(delivery, await delivery.run(this.processed));
        if (this.uncommitted.length >= this.parts.maxCommitBatch || performance.now() - this.firstStartedAt >= this.parts.maxCommitDelayMs) await this.commit();
      }
      await this.commit();
      await this.commitOffset();
      return this.dueInMs;
    } catch (error) {
      // Whatever broke off the batch (a revocation, shutdown), the events already handled are done: record them, so no owner of the partition runs them again.
      await this.commit().catch((commitError: unknown) => {
        if (commitError !== error) logger.warn({ err: commitError }, 'could not record handled events; they will be handled again');
      });
      await this.commitOffset();
      throw error;
    } finally {
      clearInterval(heartbeats);
      this.reportLag();
    }
  }

  private add(delivery: Delivery, outcome: Outcome): void {
    this.lastOffset = this.lastDelivered = delivery.message.offset;
    if (!outcome.handled) return;
    this.uncommitted.push({ delivery, eventId: delivery.event!.id, effects: outcome.effects });
    this.uncommittedKeys.add(delivery.key);
  }

  /**
   * A retry tier's record that is not due yet ends the batch, and its
   * partition stays paused until the record is due. Its offset stays
   * unresolved, so the same record is fetched again on resume; other
   * partitions go on meanwhile.
   */
  private async pausedUntilDue(message: KafkaMessage): Promise<boolean> {
    const dueInMs = (headerNumber(message.headers, deliveryHeaders.retryAt) ?? 0) - this.parts.clock.now();
    if (dueInMs <= 0) return false;
    this.dueInMs = dueInMs;
    return true;
  }

  /**
   * Commits what was handled, then resolves the partition's offset up to
   * the last record delivered (unless the partition was revoked: its new
   * owner commits from now on).
   */
  private async commit(): Promise<void> {
    const handled = this.uncommitted;
    const lastOffset = this.lastOffset;
    this.uncommitted = [];
    this.uncommittedKeys = new Set();
    this.lastOffset = undefined;
    this.firstStartedAt = undefined;
    if (lastOffset === undefined) return;
    await this.record(handled);
    if (this.revoked) return;
    this.payload.resolveOffset(lastOffset);
    this.resolved = lastOffset;
  }

  /**
   * Commits the partition's offset up to what was resolved, at the batch's
   * end (kafkajs commits resolved offsets only after a batch it waits for;
   * this one runs beside its fetch loop). A failure here (the broker away)
   * loses nothing: the events are recorded, and a redelivery skips them.
   */
  private async commitOffset(): Promise<void> {
    if (this.resolved === undefined || this.revoked) return;
    const { topic, partition } = this.source;
    try {
      await this.payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(BigInt(this.resolved) + 1n) }] }] });
    } catch (error) {
      this.parts.logger.warn({ err: error, topic, partition }, 'could not commit the offset; the recorded events will be skipped when delivered again');
    }
  }

  /**
   * One transaction for all. If an event's effects fail, that is a failed
   * attempt of that event alone (retried later or parked, as if its handler
   * had thrown), and the others commit without it. Any other failure is the
   * commit's (a lock held elsewhere, a timeout): every event in it failed an
   * attempt. Unless the database is unavailable: that is no event's fault,
   * and the retry tiers would only spend their attempts on it. The batch
   * fails instead, its events stay unresolved, and the runtime pauses before
   * they are fetched again.
   */
  private async record(handled: Handled[]): Promise<void> {
    const { processedEvents, metrics, groupId, shutdown } = this.batchParts;
    let remaining = handled;
    while (remaining.length > 0) {
      try {
        const fresh = await processedEvents.commit(remaining);
        for (const { delivery, eventId } of remaining) {
          // A later copy in this batch is now a duplicate, not a rerun.
          this.processed.add(eventId);
          (fresh.has(eventId) ? metrics.processed : metrics.duplicates).inc({ group: groupId, type: delivery.type });
          await delivery.done();
        }
        return;
      } catch (error) {
        if (shutdown.aborted) throw error; // abandoned: left uncommitted for the next owner
        // Effects that lost the database failed no more than the commit did.
        if (isDatabaseUnavailable(error instanceof EffectsFailed ? error.cause : error)) {
          throw new PipelineError('database_unavailable', `could not commit ${remaining.length} handled event(s) of ${this.source.topic}[${this.source.partition}]: the database is unavailable; they will be delivered again`, { cause: error });
        }
        if (error instanceof EffectsFailed) {
          const culprit = remaining.find((entry) => entry.eventId === error.eventId)!;
          await culprit.delivery.failedToCommit(error.cause);
          remaining = remaining.filter((entry) => entry !== culprit);
          continue;
        }
        for (const { delivery } of remaining) await delivery.failedToCommit(error);
        return;
      }
    }
  }

  private reportLag(): void {
    const { batch } = this.payload;
    if (this.lastDelivered === undefined) return;
    this.parts.metrics.lag.set({ group: this.parts.groupId, topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(this.lastDelivered) - 1));
  }
}

/** The ids of the records that can be events (malformed ones are dead-lettered when their turn comes). */
function eventIds(messages: readonly KafkaMessage[]): string[] {
  return messages.map((message) => headerString(message.headers, 'ce_id')).filter(isUuid);
}
