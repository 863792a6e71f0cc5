import { setTimeout as sleep } from 'node:timers/promises';
import { CommitQueue } from '../src/commit-queue';

interface Entry {
  key: string;
  n: number;
}

/** A commit function whose calls the test completes (or fails) by hand. */
function controlledCommits() {
  const calls: { entries: number[]; done: () => void; fail: (error: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const commit = (entries: Entry[]) =>
    new Promise<void>((resolve, reject) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const settle = (then: () => void) => () => {
        inFlight -= 1;
        then();
      };
      calls.push({ entries: entries.map((entry) => entry.n), done: settle(resolve), fail: (error) => settle(() => reject(error))() });
    });
  return { commit, calls, maxInFlight: () => maxInFlight };
}

const entry = (n: number, key = `key-${n}`): Entry => ({ key, n });
const settledWithin = async (promise: Promise<unknown>, ms = 20) => Promise.race([promise.then(() => true, () => true), sleep(ms).then(() => false)]);

describe('CommitQueue', () => {
  it('commits full batches one at a time, in order, while the next batch fills', async () => {
    const { commit, calls, maxInFlight } = controlledCommits();
    const queue = new CommitQueue(commit, 2, 10_000);
    expect(queue.add(entry(1))).toBeUndefined();
    const full = queue.add(entry(2));
    expect(full).toBeDefined(); // full: the caller may go on once the commit started
    await full;
    expect(calls.map((call) => call.entries)).toEqual([[1, 2]]);

    expect(queue.add(entry(3))).toBeUndefined(); // handling goes on during the commit
    const second = queue.add(entry(4))!;
    expect(await settledWithin(second)).toBe(false); // the next commit waits for the one before
    calls[0]!.done();
    await second;
    expect(calls.map((call) => call.entries)).toEqual([[1, 2], [3, 4]]);
    calls[1]!.done();
    await queue.flush();
    expect(maxInFlight()).toBe(1);
  });

  it('holds back only an event whose key is still uncommitted', async () => {
    const { commit, calls } = controlledCommits();
    const queue = new CommitQueue(commit, 100, 10_000);
    queue.add(entry(1, 'video-a'));
    expect(queue.ready('video-b')).toBeUndefined();

    const sameKey = queue.ready('video-a')!; // its earlier event is only queued: it gets committed now
    expect(await settledWithin(sameKey)).toBe(false);
    expect(calls.map((call) => call.entries)).toEqual([[1]]);
    expect(queue.ready('video-b')).toBeUndefined();
    calls[0]!.done();
    await sameKey;
    expect(queue.ready('video-a')).toBeUndefined();
  });

  it('commits a partial batch after maxDelayMs without being asked', async () => {
    const { commit, calls } = controlledCommits();
    const queue = new CommitQueue(commit, 100, 30);
    queue.add(entry(1));
    expect(calls).toHaveLength(0);
    await sleep(80);
    expect(calls.map((call) => call.entries)).toEqual([[1]]);
    calls[0]!.done();
    await queue.flush();
    queue.dispose();
  });

  it('after a failed commit, commits nothing later and reports the failure everywhere', async () => {
    const { commit, calls } = controlledCommits();
    const queue = new CommitQueue(commit, 1, 10_000);
    await queue.add(entry(1));
    const next = queue.add(entry(2))!; // waits for commit 1
    calls[0]!.fail(new Error('database down'));
    await expect(next).rejects.toThrow('database down');
    expect(calls).toHaveLength(1); // entry 2 never committed: its offset would pass entry 1's
    expect(() => queue.ready('key-9')).toThrow('database down');
    expect(() => queue.add(entry(3))).toThrow('database down');
    await expect(queue.flush()).rejects.toThrow('database down');
  });

  it('dispose stops the timer and leaves queued events uncommitted', async () => {
    const { commit, calls } = controlledCommits();
    const queue = new CommitQueue(commit, 100, 20);
    queue.add(entry(1));
    queue.dispose();
    await sleep(60);
    expect(calls).toHaveLength(0);
  });
});
