import { retryTierDelaysMs } from '@video-pipeline/events';

export interface BackoffPolicy {
  /** Delay before the second attempt. */
  initialMs: number;
  /** Ceiling of any single delay. */
  maxMs: number;
  /** Growth per attempt. */
  multiplier: number;
}

/**
 * How a consumer group retries a failing event: a few quick attempts in
 * place, then through the retry tiers (one delay topic each, so an event
 * waiting there never blocks its original partition), then the dead-letter
 * topic. Every delivery, in place or from a tier, gets `attemptsPerDelivery`.
 */
export interface RetryPolicy {
  /** Attempts per delivery before moving on to the next tier. Default 2. */
  attemptsPerDelivery: number;
  /** Back-off between attempts of one delivery. Default 100 ms doubling up to 1 s. */
  inPlaceBackoff: BackoffPolicy;
  /** Delay of each tier, in order; tier n is the topic `<group>.retry.<n>`. */
  tierDelaysMs: readonly number[];
  /** Jitter spread, 0..1: each delay is drawn from [delay × (1 − jitter), delay]. Default 0.5. */
  jitter: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attemptsPerDelivery: 2,
  inPlaceBackoff: { initialMs: 100, maxMs: 1_000, multiplier: 2 },
  tierDelaysMs: retryTierDelaysMs,
  jitter: 0.5,
};

/** Exponential back-off with jitter for the `attempt`-th retry (1-based). */
export function backoffDelayMs(attempt: number, backoff: BackoffPolicy, jitter: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** Math.max(0, attempt - 1));
  return withJitter(ceiling, jitter, random);
}

export function withJitter(delayMs: number, jitter: number, random: () => number = Math.random): number {
  return Math.round(delayMs * (1 - jitter * random()));
}

export function validateRetryPolicy(policy: RetryPolicy, tierTopics: number): void {
  const problems: string[] = [];
  if (!Number.isInteger(policy.attemptsPerDelivery) || policy.attemptsPerDelivery < 1) problems.push('attemptsPerDelivery must be an integer ≥ 1');
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) problems.push('jitter must be between 0 and 1');
  const { initialMs, maxMs, multiplier } = policy.inPlaceBackoff;
  if (!(initialMs >= 0 && maxMs >= initialMs)) problems.push('inPlaceBackoff needs 0 ≤ initialMs ≤ maxMs');
  if (!(multiplier >= 1)) problems.push('inPlaceBackoff.multiplier must be ≥ 1');
  if (!policy.tierDelaysMs.every((delayMs) => delayMs >= 0)) problems.push('tierDelaysMs must not be negative');
  if (policy.tierDelaysMs.length > tierTopics) {
    problems.push(`${policy.tierDelaysMs.length} retry tiers configured but only ${tierTopics} retry topics exist per group (see topology.ts)`);
  }
  if (problems.length > 0) throw new Error(`invalid retry policy: ${problems.join('; ')}`);
}
