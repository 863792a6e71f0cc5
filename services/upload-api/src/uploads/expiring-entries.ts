import { systemClock, type Clock } from '@video-pipeline/retry';

/**
 * Entries that go `lifetimeMs` after they were set, whether or not anything
 * deletes them: notes this process keeps on an upload, for at most as long as
 * the upload can live. An upload finished or swept by another instance is
 * never deleted here; its entry goes once the upload would have expired.
 *
 * Kept in the order they were set, which is the order they expire in: each
 * call drops the expired ones from the front, so the work is one step per
 * entry dropped.
 */
export class ExpiringEntries<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {}

  get(key: string): V | undefined {
    this.dropExpired();
    return this.entries.get(key)?.value;
  }

  /** Sets the entry, to expire `lifetimeMs` from now (a key set again starts over). */
  set(key: string, value: V): void {
    this.dropExpired();
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.clock.now() + this.lifetimeMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Entries not yet expired. */
  get size(): number {
    this.dropExpired();
    return this.entries.size;
  }

  private dropExpired(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}
