import { retryTierDelaysMs } from '@video-pipeline/events';
import { defaultRetryPolicy } from '../src';
import { validateRetryPolicy } from '../src/retry-policy';

describe('validateRetryPolicy', () => {
  it('accepts the default policy, whose tiers are the contract’s', () => {
    expect(() => validateRetryPolicy(defaultRetryPolicy, retryTierDelaysMs.length)).not.toThrow();
    expect(defaultRetryPolicy.tierDelaysMs).toEqual(retryTierDelaysMs);
  });

  it('accepts a policy without tiers: failures go straight to the dead-letter topic', () => {
    expect(() => validateRetryPolicy({ ...defaultRetryPolicy, tierDelaysMs: [] }, 3)).not.toThrow();
  });

  it.each([
    [{ attemptsPerDelivery: 0 }, 'attemptsPerDelivery must be an integer ≥ 1'],
    [{ attemptsPerDelivery: 1.5 }, 'attemptsPerDelivery must be an integer ≥ 1'],
    [{ tierJitter: 1.5 }, 'tierJitter must be between 0 and 1'],
    [{ tierJitter: Number.NaN }, 'tierJitter must be between 0 and 1'],
    [{ inPlaceBackoff: { initialMs: 500, maxMs: 100, multiplier: 2, jitter: 0 } }, 'inPlaceBackoff needs 0 ≤ initialMs ≤ maxMs'],
    [{ inPlaceBackoff: { initialMs: 100, maxMs: 1_000, multiplier: 0.5, jitter: 0 } }, 'inPlaceBackoff.multiplier must be ≥ 1'],
    [{ tierDelaysMs: [1_000, -1] }, 'tierDelaysMs must not be negative'],
    [{ tierDelaysMs: [1, 2, 3, 4] }, '4 retry tiers configured but only 3 retry topics exist per group (see retryTierDelaysMs in @video-pipeline/events)'],
  ])('rejects %j', (change, problem) => {
    expect(() => validateRetryPolicy({ ...defaultRetryPolicy, ...change }, 3)).toThrow(`invalid retry policy: ${problem}`);
  });

  it('names every problem at once', () => {
    expect(() => validateRetryPolicy({ ...defaultRetryPolicy, attemptsPerDelivery: 0, tierJitter: -1 }, 3)).toThrow(
      'invalid retry policy: attemptsPerDelivery must be an integer ≥ 1; tierJitter must be between 0 and 1',
    );
  });
});
