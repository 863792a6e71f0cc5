import type { ConsumerGroupName } from '@video-pipeline/events';
import { longestRetentionMs } from '@video-pipeline/kafka';
import type { Logger } from '@video-pipeline/logging';
import { systemClock, type Clock, type Random } from '@video-pipeline/retry';
import type { ConsumerMetrics } from './metrics';
import type { ProcessedEvents } from './processed-events';

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

/** The moment `days` ago: what pruning `days` passes to `ProcessedEvents.prune`. */
export function daysAgo(days: number, now: number): Date {
  return new Date(now - days * DAY_MS);
}

export interface RecordPrunerOptions {
  store: ProcessedEvents;
  group: ConsumerGroupName;
  logger: Logger;
  metrics?: ConsumerMetrics;
  /** How often to prune. */
  everyMs: number;
  /** When the first pruning runs; by default at a random time within the first minute, so instances started together spread out. */
  firstInMs?: number;
  clock?: Clock;
  random?: Random;
}

/**
 * Prunes a group's idempotency records now and then (see
 * `ProcessedEvents.prune`), so a worker needs no cron job: records older
 * than the default (`defaultRecordsKeptDays`) go. Every instance of a group
 * prunes; the same deletions from two instances at once cost a little work
 * twice and nothing else. A failed pruning is logged and tried again next
 * time.
 */
export class RecordPruner {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stopped = new AbortController();
  private readonly clock: Clock;

  constructor(private readonly options: RecordPrunerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    const { firstInMs = (this.options.random ?? Math.random)() * 60_000 } = this.options;
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
    const processedBefore = daysAgo(keptDays, this.clock.now());
    const started = performance.now();
    try {
      const deleted = await store.prune(processedBefore, { signal: this.stopped.signal });
      metrics?.recordsPruned.inc({ group: store.groupId }, deleted);
      metrics?.lastPrune.set({ group: store.groupId }, this.clock.now() / 1000);
      logger.info({ deleted, processedBefore: processedBefore.toISOString(), durationMs: Math.round(performance.now() - started) }, 'pruned idempotency records');
    } catch (error) {
      logger.warn({ err: error, processedBefore: processedBefore.toISOString() }, 'could not prune idempotency records; trying again next time');
    }
  }
}
