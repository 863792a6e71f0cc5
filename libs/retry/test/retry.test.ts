import { retry, untilAborted, type Clock } from '../src';

/** A clock whose sleeps return at once and are noted. */
function recordingClock(): Clock & { slept: number[] } {
  const slept: number[] = [];
  return { slept, now: () => 0, sleep: async (ms) => void slept.push(ms) };
}

const backoff = { initialMs: 100, maxMs: 250, multiplier: 2, jitter: 0 };

describe('retry', () => {
  it('tries again after each failure, waiting by the policy, until the work succeeds', async () => {
    const clock = recordingClock();
    const attempts: number[] = [];
    const result = await retry(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 4) throw new Error(`failure ${attempt}`);
        return 'done';
      },
      { attempts: 5, backoff, clock },
    );
    expect(result).toBe('done');
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(clock.slept).toEqual([100, 200, 250]);
  });

  it('throws the last failure once the attempts run out', async () => {
    const clock = recordingClock();
    const retries: [string, number, number][] = [];
    await expect(
      retry(async (attempt) => Promise.reject(new Error(`failure ${attempt}`)), { attempts: 3, backoff, clock, onRetry: (error, n, ms) => retries.push([(error as Error).message, n, ms]) }),
    ).rejects.toThrow('failure 3');
    expect(retries).toEqual([
      ['failure 1', 1, 100],
      ['failure 2', 2, 200],
    ]);
  });

  it('does not retry what says it is not retriable, or what the caller rules out', async () => {
    const clock = recordingClock();
    const permanent = Object.assign(new Error('bad request'), { retriable: false });
    let calls = 0;
    await expect(retry(async () => Promise.reject((calls++, permanent)), { attempts: 5, backoff, clock })).rejects.toBe(permanent);
    expect(calls).toBe(1);

    await expect(retry(async () => Promise.reject(new Error('not this one')), { attempts: 5, backoff, clock, retriable: () => false })).rejects.toThrow('not this one');
    expect(clock.slept).toEqual([]);
  });

  it('stops waiting when its signal is aborted, with the failure it was waiting after', async () => {
    const stopping = new AbortController();
    const sleeping: Clock = { now: () => 0, sleep: (_ms, signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))) };
    const retrying = retry(async () => Promise.reject(new Error('still down')), { attempts: 5, backoff, clock: sleeping, signal: stopping.signal });
    stopping.abort();
    await expect(retrying).rejects.toThrow('still down');
  });
});

describe('untilAborted', () => {
  it('settles as the work does while the signal stays quiet', async () => {
    const signal = new AbortController().signal;
    await expect(untilAborted(Promise.resolve('done'), signal)).resolves.toBe('done');
    await expect(untilAborted(Promise.reject(new Error('failed')), signal)).rejects.toThrow('failed');
  });

  it('rejects with the reason once the signal aborts, however long the work would run', async () => {
    await expect(untilAborted(new Promise(() => undefined), AbortSignal.timeout(10))).rejects.toMatchObject({ name: 'TimeoutError' });
    const aborted = new AbortController();
    aborted.abort(new Error('stopping'));
    await expect(untilAborted(Promise.resolve('too late'), aborted.signal)).rejects.toThrow('stopping');
  });
});
