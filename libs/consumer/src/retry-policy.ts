import { retryTierDelaysMs } from '@video-pipeline/events';
import { backoffProblems, type BackoffPolicy } from '@video-pipeline/retry';

/**
 * How a consumer group retries a failing event: a few quick attempts in
 * place, then through the retry tiers (one delay topic each, so an event
 * waiting there never blocks its original partition), then the dead-letter
 * topic. Every delivery, in place or from a tier, gets `attemptsPerDelivery`.
 */
export interface RetryPolicy {
  /** Attempts per delivery before moving on to the next tier. Default 2. */
  attemptsPerDelivery: number;
  /** Back-off between attempts of one delivery. Default 100 ms doubling up to 1 s, half of it left to chance. */
  inPlaceBackoff: BackoffPolicy;
  /** Delay of each tier, in order; tier n is the topic `<group>.retry.<n>`. Default 5 s, 1 min, 10 min. */
  tierDelaysMs: readonly number[];
  /** Share of each tier's delay left to chance, 0..1, so events that failed together do not return together. Default 0.5. */
  tierJitter: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attemptsPerDelivery: 2,
  inPlaceBackoff: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.5 },
  tierDelaysMs: retryTierDelaysMs,
  tierJitter: 0.5,
};

/** Throws, naming every problem at once, if the policy cannot work with `tierTopics` retry topics per group. */
export function validateRetryPolicy(policy: RetryPolicy, tierTopics: number): void {
  const problems: string[] = [];
  if (!Number.isInteger(policy.attemptsPerDelivery) || policy.attemptsPerDelivery < 1) problems.push('attemptsPerDelivery must be an integer ≥ 1');
  problems.push(...backoffProblems(policy.inPlaceBackoff, 'inPlaceBackoff'));
  if (!policy.tierDelaysMs.every((delayMs) => delayMs >= 0)) problems.push('tierDelaysMs must not be negative');
  if (policy.tierDelaysMs.length > tierTopics) {
    problems.push(`${policy.tierDelaysMs.length} retry tiers configured but only ${tierTopics} retry topics exist per group (see retryTierDelaysMs in @video-pipeline/events)`);
  }
  if (!(policy.tierJitter >= 0 && policy.tierJitter <= 1)) problems.push('tierJitter must be between 0 and 1');
  if (problems.length > 0) throw new Error(`invalid retry policy: ${problems.join('; ')}`);
}
