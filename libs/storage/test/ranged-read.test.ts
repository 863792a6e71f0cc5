import { setTimeout as sleep } from 'node:timers/promises';
import { rangesOf, readRangesInOrder, type ByteRange } from '../src/ranged-read';

/** A fake object whose ranges answer after a delay chosen per range, recording what was asked and how much was held at once. */
function fakeObject(sizeBytes: number, delayMs: (range: ByteRange) => number) {
  const bytes = Buffer.from(Array.from({ length: sizeBytes }, (_, index) => index % 251));
  const seen = { requested: [] as ByteRange[], held: 0, mostHeld: 0, aborted: 0, settledAfterAbort: 0 };
  const fetchRange = async (range: ByteRange, signal: AbortSignal): Promise<Buffer[]> => {
    seen.requested.push(range);
    seen.held += 1;
    seen.mostHeld = Math.max(seen.mostHeld, seen.held);
    try {
      await sleep(delayMs(range), undefined, { signal });
    } catch (error) {
      seen.aborted += 1;
      seen.held -= 1;
      throw error;
    }
    // Two chunks per range, as a socket would hand them over.
    const middle = range.start + Math.floor((range.end - range.start) / 2);
    return [bytes.subarray(range.start, middle), bytes.subarray(middle, range.end)];
  };
  /** The consumer releases what it held once it has used it. */
  const release = () => {
    seen.held -= 1;
  };
  return { bytes, seen, fetchRange, release };
}

describe('readRangesInOrder', () => {
  it('cuts an object into ranges, the last holding the rest', () => {
    expect(rangesOf(25, 10)).toEqual([
      { start: 0, end: 10 },
      { start: 10, end: 20 },
      { start: 20, end: 25 },
    ]);
    expect(rangesOf(20, 10)).toHaveLength(2);
    expect(rangesOf(0, 10)).toEqual([]);
  });

  it('hands the ranges over in order although later ones arrive first, holding at most `concurrency` at once', async () => {
    // Earlier ranges are slower, so they finish after the ones behind them.
    const object = fakeObject(1000, (range) => 40 - (range.start / 100) * 4);
    const consumed: Buffer[] = [];
    await readRangesInOrder({ sizeBytes: 1000, rangeBytes: 100, concurrency: 4 }, object.fetchRange, (chunks) => {
      consumed.push(...chunks);
      object.release();
    });
    expect(Buffer.concat(consumed).equals(object.bytes)).toBe(true);
    expect(object.seen.requested).toHaveLength(10);
    expect(object.seen.mostHeld).toBe(4);
  });

  it('reads the first range alone and nothing more when it is refused', async () => {
    const object = fakeObject(1000, () => 5);
    const refusal = new Error('not a video');
    await expect(
      readRangesInOrder({ sizeBytes: 1000, rangeBytes: 100, concurrency: 4 }, object.fetchRange, () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(object.seen.requested).toEqual([{ start: 0, end: 100 }]);
  });

  it('a failed range aborts the ranges in flight and settles them before rejecting', async () => {
    const object = fakeObject(1000, () => 1000);
    const failing = async (range: ByteRange, signal: AbortSignal) => {
      if (range.start === 0) return [object.bytes.subarray(0, 100)];
      if (range.start === 100) {
        await sleep(20);
        throw new Error('storage went away');
      }
      return object.fetchRange(range, signal);
    };
    const started = Date.now();
    await expect(readRangesInOrder({ sizeBytes: 1000, rangeBytes: 100, concurrency: 4 }, failing, () => undefined)).rejects.toThrow('storage went away');
    // Ranges 2 to 4 were in flight (1 s each): aborted, not waited for.
    expect(object.seen.aborted).toBe(3);
    expect(object.seen.held).toBe(0);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('the caller’s signal aborts the reading', async () => {
    const object = fakeObject(1000, () => 1000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('client went away')), 20);
    const started = Date.now();
    await expect(
      readRangesInOrder({ sizeBytes: 1000, rangeBytes: 100, concurrency: 4, signal: controller.signal }, object.fetchRange, () => object.release()),
    ).rejects.toThrow('client went away');
    expect(object.seen.held).toBe(0);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('an empty object reads nothing', async () => {
    const object = fakeObject(0, () => 1);
    await readRangesInOrder({ sizeBytes: 0, rangeBytes: 100, concurrency: 4 }, object.fetchRange, () => undefined);
    expect(object.seen.requested).toEqual([]);
  });
});
