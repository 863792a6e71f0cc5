/** What the queue needs of a handled event: its key, for keeping each key's events causal. */
export interface Keyed {
  key: string;
}

/**
 * A batch's handled events on their way to the database. They are gathered
 * into commits of at most `maxBatch`, none later than `maxDelayMs` after it
 * began to fill, and commits run one after another so offsets resolve in
 * order. One commit runs while the next fills: handling goes on during a
 * commit, and only an event whose key is not yet committed waits for it.
 */
export class CommitQueue<T extends Keyed> {
  private filling: T[] = [];
  private fillingKeys = new Set<string>();
  private committingKeys = new Set<string>();
  private committing?: Promise<void>;
  private failure?: { error: unknown };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly commit: (entries: T[]) => Promise<void>,
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
    if (this.committingKeys.has(key)) return this.afterCommitting();
    return undefined;
  }

  /** Queues a handled event. Returns a promise to wait for only when the queue is full and its commit must wait for the one before. */
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
    await this.committing;
    this.throwIfFailed();
  }

  /** Stops the delay timer; queued events stay uncommitted. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async afterCommitting(): Promise<void> {
    await this.committing;
    this.throwIfFailed();
  }

  private async startCommit(): Promise<void> {
    this.dispose();
    while (this.committing) await this.committing;
    // After a failed commit nothing later may commit: its offsets would pass the failed ones.
    this.throwIfFailed();
    if (this.filling.length === 0) return;
    const entries = this.filling;
    this.committingKeys = this.fillingKeys;
    this.filling = [];
    this.fillingKeys = new Set();
    this.committing = this.commit(entries).then(
      () => this.settled(),
      (error: unknown) => {
        this.failure ??= { error };
        this.settled();
      },
    );
  }

  private settled(): void {
    this.committing = undefined;
    this.committingKeys = new Set();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
