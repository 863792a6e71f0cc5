import { isTransactionTimeout, sqlState, type Prisma, type PrismaClient } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { untilAborted } from '@video-pipeline/retry';

/** Database work a handler wants done exactly once, in the transaction that records the event as processed. */
export type Effects = (tx: Prisma.TransactionClient) => Promise<void>;

/** A handled event on its way to the record: its id, and its effects if it has any. */
export interface Completion {
  eventId: string;
  effects?: Effects;
}

/** A commit that failed in one event's effects: that event is at fault, and the others may commit without it. */
export class EffectsFailed extends Error {
  constructor(
    readonly eventId: string,
    override readonly cause: unknown,
  ) {
    super(`the effects of event ${eventId} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'EffectsFailed';
  }
}

/**
 * How long a transaction applying effects may take by default. Prisma's own
 * default (5 s) is too short for a full commit on a busy machine.
 */
export const DEFAULT_COMMIT_TIMEOUT_MS = 60_000;

/**
 * The durable record of which event ids a consumer group has processed: a
 * row per (group, event id), that pair its primary key. A commit inserts
 * its events' rows with `ON CONFLICT DO NOTHING` and applies the effects of
 * those it inserted, in one transaction. So an event redelivered after a
 * crash, replayed, published twice, or handled by two instances at once
 * changes the database once: of two transactions inserting one id, the
 * second waits for the first and then inserts nothing (or, if the first
 * rolled back, inserts it and applies its own effects).
 */
export class ProcessedEvents {
  private readonly commitTimeoutMs: number;

  constructor(
    private readonly prisma: PrismaClient,
    /** The Kafka group id: the records' scope. */
    readonly groupId: string,
    { commitTimeoutMs = DEFAULT_COMMIT_TIMEOUT_MS }: { commitTimeoutMs?: number } = {},
  ) {
    this.commitTimeoutMs = commitTimeoutMs;
  }

  /** Which of `eventIds` this group has already processed (lowercase). */
  async processedOf(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = await this.prisma.$queryRaw<{ event_id: string }[]>`
      SELECT event_id::text FROM processed_events WHERE consumer_group = ${this.groupId} AND event_id = ANY(${eventIds}::uuid[])`;
    return new Set(rows.map((row) => row.event_id));
  }

  /**
   * Records the completions and applies the effects of those not recorded
   * before, in order, in one transaction; returns the ids that were new
   * (lowercase). Throws `EffectsFailed` when an event's effects throw or run
   * past `commitTimeoutMs`, and `commit_timeout` when the transaction cannot
   * start in that time or a statement waits longer than `lock_timeout` for a
   * lock (workers set it to `commitTimeoutMs`); nothing is recorded then.
   */
  async commit(completions: readonly Completion[]): Promise<Set<string>> {
    if (completions.length === 0) return new Set();
    // Sorted, so two commits that share ids take their locks in one order and cannot deadlock.
    const ids = [...new Set(completions.map((completion) => completion.eventId.toLowerCase()))].sort();
    // Prisma rolls back at its timeout but waits for the callback: effects that never settle are cut off here.
    const deadline = AbortSignal.timeout(this.commitTimeoutMs);
    try {
      return await this.prisma.$transaction(
        async (tx) => {
          const inserted = await tx.$queryRaw<{ event_id: string }[]>`
            INSERT INTO processed_events (consumer_group, event_id)
            SELECT ${this.groupId}, unnest(${ids}::uuid[])
            ON CONFLICT DO NOTHING
            RETURNING event_id::text`;
          const fresh = new Set(inserted.map((row) => row.event_id));
          const unapplied = new Set(fresh); // an id given twice applies its effects once
          for (const { eventId, effects } of completions) {
            if (!effects || !unapplied.delete(eventId.toLowerCase())) continue;
            await untilAborted(effects(tx), deadline).catch((error: unknown) => {
              throw new EffectsFailed(eventId, deadline.aborted ? this.timedOut('the effects were still running') : error);
            });
          }
          return fresh;
        },
        // Starting may wait as long (Prisma's default: 2 s): on a busy pool, that is where the time goes.
        { timeout: this.commitTimeoutMs, maxWait: this.commitTimeoutMs },
      );
    } catch (error) {
      if (error instanceof EffectsFailed) throw error;
      if (isTransactionTimeout(error)) throw this.timedOut((error as Error).message.trim().split('\n').at(-1)!, error); // Prisma's last line says what happened
      if (sqlState(error) === LOCK_NOT_AVAILABLE) throw this.timedOut('a lock another transaction holds was not released within lock_timeout', error);
      throw error;
    }
  }

  /**
   * Deletes the records of events processed before `processedBefore`,
   * `batchSize` at a time (so no statement holds locks for long), and
   * returns how many. An aborted `signal` stops it between statements.
   */
  async prune(processedBefore: Date, { batchSize = 1_000, onProgress, signal }: { batchSize?: number; onProgress?: (deleted: number) => void; signal?: AbortSignal } = {}): Promise<number> {
    let deleted = 0;
    while (!signal?.aborted) {
      const count = await this.prisma.$executeRaw`
        DELETE FROM processed_events WHERE consumer_group = ${this.groupId} AND event_id IN (
          SELECT event_id FROM processed_events WHERE consumer_group = ${this.groupId} AND processed_at < ${processedBefore} LIMIT ${batchSize})`;
      deleted += count;
      if (count > 0) onProgress?.(deleted);
      if (count < batchSize) break;
    }
    return deleted;
  }

  private timedOut(reason: string, cause?: unknown): PipelineError {
    return new PipelineError('commit_timeout', `the commit did not finish within ${this.commitTimeoutMs} ms (commitTimeoutMs): ${reason}`, { cause });
  }
}

/** Postgres' lock_not_available: a lock wait ran past lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';
