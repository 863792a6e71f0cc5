/** What the queue needs of a handled event: its key, for keeping each key's events causal. */
export interface Keyed {
  key: string;
}

/**
 * Commits writing at once. Two hide one commit's round trip behind the next
 * one's; more would add little but concurrent statements, each of which
 * costs Postgres more CPU per id than the same ids sent one after another.
 */
const MAX_IN_FLIGHT = 2;

/**
 * A batch's handled events on their way to the database. They are gathered
 * into commits of at most `maxBatch`, none later than `maxDelayMs` after it
 * began to fill. A commit has two steps: `record` writes its events' effects
 * and idempotency records, then `resolve` marks their offsets done. A commit
 * records while the one before it still runs and the next fills, but
 * resolves only after it, so offsets resolve in order. Handling goes on
 * meanwhile: only an event whose key is not yet committed waits.
 *
 * After a commit fails, no later commit resolves its offsets or starts to
 * record. One that was already recording may finish: its events are then
 * delivered again and skipped as already processed, never run twice.
 */
export class CommitQueue<T extends Keyed> {
  private filling: T[] = [];
  private fillingKeys = new Set<string>();
  /** Commits in flight, oldest first, with their keys; each settles after the ones before it, and none rejects. */
  private inFlight: { done: Promise<void>; keys: Set<string> }[] = [];
  private failure?: { error: unknown };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly record: (entries: T[]) => Promise<void>,
    private readonly resolve: (entries: T[]) => Promise<void>,
    private readonly maxBatch: number,
    private readonly maxDelayMs: number,
  ) {}

  /**
   * Whether an event of `key` may run now: undefined if so, else a promise
   * that resolves once every earlier event of its key is committed. (Called
   * for every event, so the common case allocates no promise.)
   */
  ready(key: string): Promise<void> | undefined {
    this.throwIfFailed();
    if (this.fillingKeys.has(key)) return this.flush();
    for (const commit of this.inFlight) if (commit.keys.has(key)) return this.afterCommitting();
    return undefined;
  }

  /** Queues a handled event. Returns a promise to wait for only when the queue is full and its commit must wait for room. */
  add(entry: T): Promise<void> | undefined {
    this.throwIfFailed();
    this.filling.push(entry);
    this.fillingKeys.add(entry.key);
    if (this.filling.length >= this.maxBatch) return this.startCommit();
    this.timer ??= setTimeout(() => void this.startCommit().catch(() => undefined), this.maxDelayMs);
    return undefined;
  }

  /** Commits everything queued and waits for it; throws the first commit failure. */
  async flush(): Promise<void> {
    await this.startCommit();
    await this.afterCommitting();
  }

  /** Stops the delay timer; queued events stay uncommitted. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async afterCommitting(): Promise<void> {
    await this.inFlight.at(-1)?.done;
    this.throwIfFailed();
  }

  private async startCommit(): Promise<void> {
    this.dispose();
    while (this.inFlight.length >= MAX_IN_FLIGHT) await this.inFlight[0]!.done;
    this.throwIfFailed();
    if (this.filling.length === 0) return;
    const entries = this.filling;
    const keys = this.fillingKeys;
    this.filling = [];
    this.fillingKeys = new Set();
    const done = this.commit(entries, this.inFlight.at(-1)?.done);
    this.inFlight.push({ done, keys });
    void done.then(() => this.inFlight.shift());
  }

  /** Records the entries now and resolves them after the commit before; keeps a failure instead of rejecting. */
  private async commit(entries: T[], before: Promise<void> | undefined): Promise<void> {
    const recording = this.record(entries);
    recording.catch(() => undefined); // awaited below, once the commit before is done
    try {
      await before;
      await recording;
      this.throwIfFailed(); // the commit before failed: these offsets must not pass its
      await this.resolve(entries);
    } catch (error) {
      this.failure ??= { error };
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
