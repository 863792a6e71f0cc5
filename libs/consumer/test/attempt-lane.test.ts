import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineError } from '@video-pipeline/errors';
import { HandlerTimeLimit } from '../src/handler-time-limit';

/** A listener that notes what it hears. */
function listening() {
  const heard: { abandoned: PipelineError[]; settledLateMs: number[] } = { abandoned: [], settledLateMs: [] };
  return { heard, listener: { abandoned: (error: PipelineError) => heard.abandoned.push(error), settledLate: (ms: number) => heard.settledLateMs.push(ms) } };
}

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('HandlerTimeLimit', () => {
  const limits: HandlerTimeLimit[] = [];
  const startLimit = (limitMs: number, sweepEveryMs = limitMs) => {
    const limit = new HandlerTimeLimit(limitMs, sweepEveryMs);
    limit.start();
    limits.push(limit);
    return limit;
  };
  afterEach(() => limits.splice(0).forEach((limit) => limit.stop()));

  it('passes on what an attempt in time gives, value or error, and tells nobody', async () => {
    const lane = startLimit(50).lane();
    const { heard, listener } = listening();
    await expect(lane.run(Promise.resolve('effects'), listener, performance.now())).resolves.toBe('effects');
    await expect(lane.run(Promise.reject(new Error('flaked')), listener, performance.now())).rejects.toThrow('flaked');
    await sleep(120); // two sweeps: nothing is left running to abandon
    expect(heard).toEqual({ abandoned: [], settledLateMs: [] });
  });

  it('abandons an attempt at its limit, though the sweep’s own period is longer, and hears when it settles late', async () => {
    const limit = startLimit(100, 1_000); // a heartbeat slower than the limit: swept once per limit instead
    const lane = limit.lane();
    const { heard, listener } = listening();
    const work = deferred<string>();
    const startedAt = performance.now();
    const outcome = lane.run(work.promise, listener, startedAt);
    const failure = await outcome.catch((error: PipelineError) => error);
    const abandonedAfterMs = performance.now() - startedAt;

    expect(failure).toMatchObject({ code: 'handler_timeout', message: 'the handler ran past its limit of 100 ms (handlerTimeoutMs) and was abandoned; its signal is aborted' });
    expect(heard.abandoned).toEqual([failure]);
    expect(abandonedAfterMs).toBeGreaterThanOrEqual(99);
    expect(abandonedAfterMs).toBeLessThan(900); // not at the next 1 s sweep
    expect(heard.settledLateMs).toEqual([]);

    work.resolve('too late');
    await sleep(0);
    expect(heard.settledLateMs).toHaveLength(1);
    expect(heard.settledLateMs[0]).toBeGreaterThanOrEqual(abandonedAfterMs);
  });

  it('keeps the next attempt in the lane apart from an abandoned one that settles meanwhile', async () => {
    const lane = startLimit(50).lane();
    const { listener } = listening();
    const hung = deferred<string>();
    await expect(lane.run(hung.promise, listener, performance.now())).rejects.toMatchObject({ code: 'handler_timeout' });

    const next = deferred<string>();
    const outcome = lane.run(next.promise, listener, performance.now());
    hung.resolve('the abandoned attempt’s result');
    next.resolve('the next attempt’s result');
    await expect(outcome).resolves.toBe('the next attempt’s result');
  });

  it('stops watching a lane once it is closed', async () => {
    const lane = startLimit(50).lane();
    const { heard, listener } = listening();
    const work = deferred<string>();
    const outcome = lane.run(work.promise, listener, performance.now());
    lane.close();
    await sleep(150);
    work.resolve('done');
    await expect(outcome).resolves.toBe('done');
    expect(heard.abandoned).toEqual([]);
  });
});
