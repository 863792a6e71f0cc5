import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as code that waits sees it. Passed in wherever a decision depends on
 * the time (a retry's due time, a back-off), so a test can decide what time
 * it is and how long a sleep takes without special modes.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch, as `Date.now()`: due times that other processes read. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined),
};

/** A number in [0, 1), as `Math.random`: passed in beside the clock, so jitter can be pinned in a test. */
export type Random = () => number;
