import type { Random } from './clock';

/**
 * How long to wait before each retry: `initialMs`, growing by `multiplier`
 * per retry up to `maxMs`, each delay drawn from
 * [delay × (1 − jitter), delay] so that clients failing together do not
 * retry together. Data, so every place that waits and retries states its
 * policy in one line.
 */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Ceiling of any one delay. */
  maxMs: number;
  /** Growth per retry; 1 keeps the delay constant. */
  multiplier: number;
  /** Share of each delay left to chance, 0..1; 0 for exact delays. */
  jitter: number;
}

/** The delay before retry number `retry` (1 for the first). */
export function backoffDelayMs(policy: BackoffPolicy, retry: number, random: Random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, retry - 1));
  return withJitter(ceiling, policy.jitter, random);
}

/** `delayMs` less a random share of up to `jitter` of it. */
export function withJitter(delayMs: number, jitter: number, random: Random = Math.random): number {
  return Math.round(delayMs * (1 - jitter * random()));
}

/** What is wrong with a policy, in words that say what to change; empty when nothing is. */
export function backoffProblems(policy: BackoffPolicy, name = 'backoff'): string[] {
  const problems: string[] = [];
  if (!(policy.initialMs >= 0 && policy.maxMs >= policy.initialMs)) problems.push(`${name} needs 0 ≤ initialMs ≤ maxMs`);
  if (!(policy.multiplier >= 1)) problems.push(`${name}.multiplier must be ≥ 1`);
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) problems.push(`${name}.jitter must be between 0 and 1`);
  return problems;
}
