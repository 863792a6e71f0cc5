import { backoffDelayMs, type BackoffPolicy } from './backoff';
import { systemClock, type Clock, type Random } from './clock';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  backoff: BackoffPolicy;
  /** Whether a failure is worth another attempt; by default the error's own `retriable` flag, or yes when it has none. */
  retriable?: (error: unknown) => boolean;
  /** Told before each wait, e.g. to log it. */
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
  /** Stops the waiting: the attempt's error is thrown at once. */
  signal?: AbortSignal;
  clock?: Clock;
  random?: Random;
}

/**
 * Runs `work` until it succeeds, a failure is not worth retrying, or the
 * attempts run out; waits by the back-off policy in between. Throws the last
 * failure as it was.
 */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts, backoff, retriable = isRetriable, onRetry, signal, clock = systemClock, random = Math.random } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= attempts || !retriable(error) || signal?.aborted) throw error;
      const delayMs = backoffDelayMs(backoff, attempt, random);
      onRetry?.(error, attempt, delayMs);
      await clock.sleep(delayMs, signal).catch(() => {
        throw error;
      });
    }
  }
}

/** An error's own word on retrying (ours and kafkajs' carry `retriable`); anything without one may be tried again. */
export function isRetriable(error: unknown): boolean {
  const flag = typeof error === 'object' && error !== null ? (error as { retriable?: unknown }).retriable : undefined;
  return flag !== false;
}
