import type { RetryPolicy } from '../../src';

/** Retries that fit in a test: one attempt per delivery, then tiers of 0.5 s and 1 s, no jitter. */
export const fastRetryPolicy: RetryPolicy = {
  attemptsPerDelivery: 1,
  inPlaceBackoff: { initialMs: 10, maxMs: 50, multiplier: 2, jitter: 0 },
  tierDelaysMs: [500, 1_000],
  tierJitter: 0,
};

/** Membership settings that let the broker notice a dead member within seconds. */
export const fastMembership = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 } as const;
