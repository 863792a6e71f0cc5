import { setTimeout as sleep } from 'node:timers/promises';
import { CommitQueue } from '../src/commit-queue';

interface Entry {
  key: string;
  n: number;
}

/** A queue whose records the test completes (or fails) by hand, and which notes the entries whose offsets it resolved. */
function controlledQueue(maxBatch: number, maxDelayMs = 10_000) {
  const records: { entries: number[]; done: () => void; fail: (error: Error) => void }[] = [];
  const resolved: number[][] = [];
  let recording = 0;
  let maxRecording = 0;
  const record = (entries: Entry[]) =>
    new Promise<void>((resolve, reject) => {
      recording += 1;
      maxRecording = Math.max(maxRecording, recording);
      const settle = (then: () => void) => () => {
        recording -= 1;
        then();
      };
      records.push({ entries: entries.map((entry) => entry.n), done: settle(resolve), fail: (error) => settle(() => reject(error))() });
    });
  const queue = new CommitQueue<Entry>(record, async (entries) => void resolved.push(entries.map((entry) => entry.n)), maxBatch, maxDelayMs);
  return { queue, records, resolved, maxRecording: () => maxRecording };
}

const entry = (n: number, key = `key-${n}`): Entry => ({ key, n });
const settledWithin = async (promise: Promise<unknown>, ms = 20) => Promise.race([promise.then(() => true, () => true), sleep(ms).then(() => false)]);

describe('CommitQueue', () => {
  it('records two full batches at once while the next fills, and resolves them in order', async () => {
    const { queue, records, resolved, maxRecording } = controlledQueue(2);
    expect(queue.add(entry(1))).toBeUndefined();
    await queue.add(entry(2)); // full: the caller may go on once the commit started
    expect(queue.add(entry(3))).toBeUndefined(); // handling goes on during the commit
    await queue.add(entry(4)); // the second commit records beside the first
    expect(records.map((record) => record.entries)).toEqual([[1, 2], [3, 4]]);

    queue.add(entry(5));
    const third = queue.add(entry(6))!;
    expect(await settledWithin(third)).toBe(false); // two are writing: the third waits for room

    records[1]!.done(); // the second finishes first, but its offsets wait for the first's
    await sleep(10);
    expect(resolved).toEqual([]);
    records[0]!.done();
    await third;
    expect(resolved).toEqual([[1, 2], [3, 4]]);
    expect(records.map((record) => record.entries)).toEqual([[1, 2], [3, 4], [5, 6]]);

    records[2]!.done();
    await queue.flush();
    expect(resolved).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(maxRecording()).toBe(2);
  });

  it('holds back only an event whose key is still uncommitted', async () => {
    const { queue, records } = controlledQueue(100);
    queue.add(entry(1, 'video-a'));
    expect(queue.ready('video-b')).toBeUndefined();

    const sameKey = queue.ready('video-a')!; // its earlier event is only queued: it gets committed now
    expect(await settledWithin(sameKey)).toBe(false);
    expect(records.map((record) => record.entries)).toEqual([[1]]);
    expect(queue.ready('video-b')).toBeUndefined();
    records[0]!.done();
    await sameKey;
    expect(queue.ready('video-a')).toBeUndefined();
  });

  it('holds back an event whose key is in any commit still in flight', async () => {
    const { queue, records } = controlledQueue(1);
    await queue.add(entry(1, 'video-a'));
    await queue.add(entry(2, 'video-b'));
    const sameKey = queue.ready('video-a')!;
    records[1]!.done();
    expect(await settledWithin(sameKey)).toBe(false);
    records[0]!.done();
    await sameKey;
    expect(queue.ready('video-a')).toBeUndefined();
    expect(queue.ready('video-b')).toBeUndefined();
  });

  it('commits a partial batch after maxDelayMs without being asked', async () => {
    const { queue, records } = controlledQueue(100, 30);
    queue.add(entry(1));
    expect(records).toHaveLength(0);
    await sleep(80);
    expect(records.map((record) => record.entries)).toEqual([[1]]);
    records[0]!.done();
    await queue.flush();
    queue.dispose();
  });

  it('after a failed commit, resolves nothing later, starts no new record and reports the failure everywhere', async () => {
    const { queue, records, resolved } = controlledQueue(1);
    await queue.add(entry(1));
    await queue.add(entry(2)); // already recording beside commit 1
    const next = queue.add(entry(3))!; // waits for room
    records[0]!.fail(new Error('database down'));
    records[1]!.done();
    await expect(next).rejects.toThrow('database down');
    expect(records).toHaveLength(2); // entry 3 never recorded
    expect(resolved).toEqual([]); // entry 2's offset would pass entry 1's
    expect(() => queue.ready('key-9')).toThrow('database down');
    expect(() => queue.add(entry(4))).toThrow('database down');
    await expect(queue.flush()).rejects.toThrow('database down');
  });

  it('dispose stops the timer and leaves queued events uncommitted', async () => {
    const { queue, records } = controlledQueue(100, 20);
    queue.add(entry(1));
    queue.dispose();
    await sleep(60);
    expect(records).toHaveLength(0);
  });
});
