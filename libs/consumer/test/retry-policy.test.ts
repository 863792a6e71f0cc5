import { retryTierDelaysMs } from '@video-pipeline/events';
import { backoffDelayMs, defaultRetryPolicy, withJitter, type BackoffPolicy } from '../src';
import { validateRetryPolicy } from '../src/retry-policy';

const backoff: BackoffPolicy = { initialMs: 100, maxMs: 1_000, multiplier: 2 };

describe('backoffDelayMs', () => {
  it('grows exponentially from the initial delay up to the ceiling', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, backoff, 0))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('treats attempts below 1 as the first', () => {
    expect(backoffDelayMs(0, backoff, 0)).toBe(100);
  });

  it('draws the delay from [delay × (1 − jitter), delay]', () => {
    expect(backoffDelayMs(3, backoff, 0.5, () => 0)).toBe(400);
    expect(backoffDelayMs(3, backoff, 0.5, () => 1)).toBe(200);
    expect(backoffDelayMs(3, backoff, 0.5, () => 0.5)).toBe(300);
  });
});

describe('withJitter', () => {
  it('keeps the delay with no jitter, and stays within the spread with any draw', () => {
    expect(withJitter(5_000, 0, () => 0.7)).toBe(5_000);
    for (const draw of [0, 0.1, 0.5, 0.99, 1]) {
      const delay = withJitter(5_000, 0.25, () => draw);
      expect(delay).toBeGreaterThanOrEqual(3_750);
      expect(delay).toBeLessThanOrEqual(5_000);
    }
  });
});

describe('validateRetryPolicy', () => {
  it('accepts the default policy, whose tiers are the topology’s', () => {
    expect(() => validateRetryPolicy(defaultRetryPolicy, retryTierDelaysMs.length)).not.toThrow();
    expect(defaultRetryPolicy.tierDelaysMs).toEqual(retryTierDelaysMs);
  });

  it('accepts a policy without tiers: failures go straight to the dead-letter topic', () => {
    expect(() => validateRetryPolicy({ ...defaultRetryPolicy, tierDelaysMs: [] }, 3)).not.toThrow();
  });

  it.each([
    [{ attemptsPerDelivery: 0 }, 'attemptsPerDelivery must be an integer ≥ 1'],
    [{ attemptsPerDelivery: 1.5 }, 'attemptsPerDelivery must be an integer ≥ 1'],
    [{ jitter: 1.5 }, 'jitter must be between 0 and 1'],
    [{ jitter: Number.NaN }, 'jitter must be between 0 and 1'],
    [{ inPlaceBackoff: { initialMs: 500, maxMs: 100, multiplier: 2 } }, 'inPlaceBackoff needs 0 ≤ initialMs ≤ maxMs'],
    [{ inPlaceBackoff: { initialMs: 100, maxMs: 1_000, multiplier: 0.5 } }, 'inPlaceBackoff.multiplier must be ≥ 1'],
    [{ tierDelaysMs: [1_000, -1] }, 'tierDelaysMs must not be negative'],
    [{ tierDelaysMs: [1, 2, 3, 4] }, '4 retry tiers configured but only 3 retry topics exist per group (see topology.ts)'],
  ])('rejects %j', (change, problem) => {
    expect(() => validateRetryPolicy({ ...defaultRetryPolicy, ...change }, 3)).toThrow(`invalid retry policy: ${problem}`);
  });

  it('names every problem at once', () => {
    expect(() => validateRetryPolicy({ ...defaultRetryPolicy, attemptsPerDelivery: 0, jitter: -1 }, 3)).toThrow(
      'invalid retry policy: attemptsPerDelivery must be an integer ≥ 1; jitter must be between 0 and 1',
    );
  });
});
