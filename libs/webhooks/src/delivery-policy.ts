import { withJitter, type Random } from '@video-pipeline/retry';

/**
 * How webhooks are delivered, as data: a test shrinks the schedule, an
 * operator tunes it through the environment.
 */
export interface DeliveryPolicy {
  /** An attempt that has not had its answer within this is a failure (`webhook_timeout`). */
  timeoutMs: number;
  /** Delay before each retry after a failed attempt, in order; attempts in all: one more than its length. */
  retryDelaysMs: readonly number[];
  /** Share of each delay left to chance, 0..1, so endpoints that failed together are not retried together. */
  jitter: number;
  /** An endpoint is disabled once it has failed this many attempts in a row ... */
  disableAfterFailures: number;
  /** ... over at least this long (its first failure of the run this long ago). */
  disableAfterMs: number;
  /** How long a rotated-out secret still signs (besides the new one). */
  secretGraceMs: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** About a day of retries: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h; an endpoint failing everything for 5 days is disabled. */
export const defaultDeliveryPolicy: DeliveryPolicy = {
  timeoutMs: 5 * SECOND,
  retryDelaysMs: [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR],
  jitter: 0.2,
  disableAfterFailures: 20,
  disableAfterMs: 5 * 24 * HOUR,
  secretGraceMs: 24 * HOUR,
};

/** The delay before the attempt after attempt number `attempt` (1-based) failed; undefined when that was the last. */
export function retryDelayMs(policy: DeliveryPolicy, attempt: number, random: Random = Math.random): number | undefined {
  const delay = policy.retryDelaysMs[attempt - 1];
  return delay === undefined ? undefined : withJitter(delay, policy.jitter, random);
}

/** Whether an endpoint that has failed `failures` attempts in a row, the first at `failingSince`, should be disabled at `now`. */
export function shouldDisable(policy: DeliveryPolicy, failures: number, failingSince: Date, now: number): boolean {
  return failures >= policy.disableAfterFailures && now - failingSince.getTime() >= policy.disableAfterMs;
}

/** What is wrong with a policy, in words that say what to change; empty when nothing is. */
export function deliveryPolicyProblems(policy: DeliveryPolicy): string[] {
  const problems: string[] = [];
  if (!(policy.timeoutMs > 0)) problems.push('timeoutMs must be > 0');
  if (policy.retryDelaysMs.some((delay) => !(delay >= 0))) problems.push('retryDelaysMs must all be ≥ 0');
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) problems.push('jitter must be between 0 and 1');
  if (!(policy.disableAfterFailures >= 1)) problems.push('disableAfterFailures must be ≥ 1');
  if (!(policy.disableAfterMs >= 0 && policy.secretGraceMs >= 0)) problems.push('disableAfterMs and secretGraceMs must be ≥ 0');
  return problems;
}

/** The policy the environment describes (`WEBHOOK_*`), on top of the defaults. */
export function deliveryPolicyFrom(config: { timeoutMs: number; retryDelaysMs?: number[]; disableAfterFailures: number; disableAfterMs: number; secretGraceMs: number }): DeliveryPolicy {
  return {
    ...defaultDeliveryPolicy,
    timeoutMs: config.timeoutMs,
    retryDelaysMs: config.retryDelaysMs ?? defaultDeliveryPolicy.retryDelaysMs,
    disableAfterFailures: config.disableAfterFailures,
    disableAfterMs: config.disableAfterMs,
    secretGraceMs: config.secretGraceMs,
  };
}
