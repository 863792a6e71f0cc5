/** A byte range of an object: `start` included, `end` excluded. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface RangedReadOptions {
  sizeBytes: number;
  rangeBytes: number;
  /**
   * Ranges held at once: those being fetched and those fetched but not yet
   * consumed. Memory stays under `concurrency × rangeBytes`.
   */
  concurrency: number;
  signal?: AbortSignal;
}

/** `[0, sizeBytes)` cut into consecutive ranges of `rangeBytes`; the last holds the rest. */
export function rangesOf(sizeBytes: number, rangeBytes: number): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (let start = 0; start < sizeBytes; start += rangeBytes) ranges.push({ start, end: Math.min(start + rangeBytes, sizeBytes) });
  return ranges;
}

/**
 * Reads an object as consecutive ranges, several fetched at once, and hands
 * each range's bytes to `consume` in order, so a hash over them is the
 * object's. The first range is fetched alone: `consume` may refuse it (it
 * throws), and then nothing more is read. A failure, a refusal or the signal
 * aborts the fetches in flight and waits for them to settle before
 * rejecting (with the signal's reason when it was the signal), so no
 * request outlives the call.
 */
export async function readRangesInOrder(
  options: RangedReadOptions,
  fetchRange: (range: ByteRange, signal: AbortSignal) => Promise<Buffer[]>,
  consume: (chunks: Buffer[], range: ByteRange) => void,
): Promise<void> {
  if (!(options.concurrency >= 1) || !(options.rangeBytes >= 1)) {
    throw new RangeError(`concurrency (${options.concurrency}) and rangeBytes (${options.rangeBytes}) must be at least 1`);
  }
  options.signal?.throwIfAborted();
  const ranges = rangesOf(options.sizeBytes, options.rangeBytes);
  const inFlight = new AbortController();
  const stop = () => inFlight.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stop, { once: true });
  const window: Promise<Buffer[]>[] = [];
  let launched = 0;
  try {
    for (const [index, range] of ranges.entries()) {
      const limit = index === 0 ? 1 : options.concurrency;
      while (launched < ranges.length && window.length < limit) {
        const fetching = fetchRange(ranges[launched++]!, inFlight.signal);
        // Awaited in turn below; a failure meanwhile must not count as unhandled.
        fetching.catch(() => undefined);
        window.push(fetching);
      }
      const chunks = await window.shift()!;
      options.signal?.throwIfAborted();
      consume(chunks, range);
    }
  } catch (error) {
    inFlight.abort(error);
    await Promise.allSettled(window);
    // Cancelled: say so with the caller's reason, not with whichever request noticed first.
    options.signal?.throwIfAborted();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}
