import { backoffDelayMs, backoffProblems, withJitter, type BackoffPolicy } from '../src';

const policy: BackoffPolicy = { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0 };

describe('backoffDelayMs', () => {
  it('grows by the multiplier from the initial delay up to the ceiling', () => {
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(policy, retry))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('treats retries below 1 as the first', () => {
    expect(backoffDelayMs(policy, 0)).toBe(100);
  });

  it('draws the delay from [delay × (1 − jitter), delay]', () => {
    const jittered = { ...policy, jitter: 0.5 };
    expect(backoffDelayMs(jittered, 3, () => 0)).toBe(400);
    expect(backoffDelayMs(jittered, 3, () => 1)).toBe(200);
    expect(backoffDelayMs(jittered, 3, () => 0.5)).toBe(300);
  });
});

describe('withJitter', () => {
  it('keeps the delay without jitter, and stays within the spread with any draw', () => {
    expect(withJitter(5_000, 0, () => 0.7)).toBe(5_000);
    for (const draw of [0, 0.1, 0.5, 0.99, 1]) {
      const delay = withJitter(5_000, 0.25, () => draw);
      expect(delay).toBeGreaterThanOrEqual(3_750);
      expect(delay).toBeLessThanOrEqual(5_000);
    }
  });
});

describe('backoffProblems', () => {
  it('accepts a sound policy', () => {
    expect(backoffProblems(policy)).toEqual([]);
  });

  it.each([
    [{ initialMs: 500, maxMs: 100 }, 'pause needs 0 ≤ initialMs ≤ maxMs'],
    [{ initialMs: -1 }, 'pause needs 0 ≤ initialMs ≤ maxMs'],
    [{ multiplier: 0.5 }, 'pause.multiplier must be ≥ 1'],
    [{ jitter: 1.5 }, 'pause.jitter must be between 0 and 1'],
    [{ jitter: Number.NaN }, 'pause.jitter must be between 0 and 1'],
  ])('names what is wrong with %j', (change, problem) => {
    expect(backoffProblems({ ...policy, ...change }, 'pause')).toEqual([problem]);
  });
});
