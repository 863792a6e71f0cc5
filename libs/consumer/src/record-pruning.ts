import type { ConsumerGroupName } from '@video-pipeline/events';
import { longestRetentionMs } from '@video-pipeline/kafka';
import type { Logger } from '@video-pipeline/logging';
import type { IdempotencyStore } from './idempotency';
import type { ConsumerMetrics } from './metrics';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Days past the longest retention that records are kept by default: room for a replay started just before a dead letter expires. */
const MARGIN_DAYS = 5;

/**
 * In whole days, how long a group must keep its record of an event: as long
 * as a topic can bring the event back (a replay, an offset reset), when the
 * record is what stops it running again. Infinity if a topic keeps events
 * for ever.
 */
export function recordsNeededDays(group: ConsumerGroupName): number {
  return Math.ceil(longestRetentionMs(group) / DAY_MS);
}

/** How old an event's record gets before pruning deletes it by default. */
export function defaultRecordsKeptDays(group: ConsumerGroupName): number {
  return recordsNeededDays(group) + MARGIN_DAYS;
}

/** The time before which events are more than `days` old: what pruning `days` passes to `IdempotencyStore.prune`. */
export function madeDaysAgo(days: number, now = Date.now()): Date {
  return new Date(now - days * DAY_MS);
}

export interface RecordPrunerOptions {
  store: IdempotencyStore;
  group: ConsumerGroupName;
  logger: Logger;
  metrics?: ConsumerMetrics;
  /** How often to prune. */
  everyMs: number;
  /** When the first pruning runs; by default at a random time within the first minute, so instances started together spread out. */
  firstInMs?: number;
}

/**
 * Prunes a group's idempotency records now and then (see
 * `IdempotencyStore.prune`), so a worker needs no cron job: records older
 * than the default (`defaultRecordsKeptDays`) go. Every instance of a group
 * prunes; the same deletions from two instances at once cost a little work
 * twice and nothing else. A failed pruning is logged and tried again next
 * time.
 */
export class RecordPruner {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stopped = new AbortController();

  constructor(private readonly options: RecordPrunerOptions) {}

  start(): void {
    const { firstInMs = Math.random() * 60_000 } = this.options;
    this.schedule(firstInMs);
  }

  /** Cancels what is scheduled, and stops a pruning under way after its current statement. */
  async stop(): Promise<void> {
    this.stopped.abort();
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(inMs: number): void {
    if (this.stopped.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.running = this.prune().finally(() => this.schedule(this.options.everyMs));
    }, inMs).unref();
  }

  private async prune(): Promise<void> {
    const { store, group, logger, metrics } = this.options;
    const keptDays = defaultRecordsKeptDays(group);
    if (!Number.isFinite(keptDays)) return; // a topic keeps events for ever: so must the records
    const madeBefore = madeDaysAgo(keptDays);
    const started = performance.now();
    try {
      const deleted = await store.prune(madeBefore, { signal: this.stopped.signal });
      metrics?.recordsPruned.inc({ group: store.groupId }, deleted);
      metrics?.lastPrune.set({ group: store.groupId }, Date.now() / 1000);
      logger.info({ deleted, madeBefore: madeBefore.toISOString(), durationMs: Math.round(performance.now() - started) }, 'pruned idempotency records');
    } catch (error) {
      logger.warn({ err: error, madeBefore: madeBefore.toISOString() }, 'could not prune idempotency records; trying again next time');
    }
  }
}
