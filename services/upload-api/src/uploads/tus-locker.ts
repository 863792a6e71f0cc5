import { Client } from 'pg';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server';
import { ChannelListener, connectionOptions } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import type { Logger } from '@video-pipeline/logging';
import { backoffDelayMs, systemClock, type BackoffPolicy, type Clock } from '@video-pipeline/retry';

/** The channel a waiter NOTIFYs with the upload id, asking whichever instance holds its lock to let go. */
export const TUS_LOCK_RELEASE_CHANNEL = 'tus_lock_release';

/** The advisory lock's name: its key is `hashtextextended(name, 0)`, apart from the quota locks (`quota:<owner>`). */
export const tusLockName = (uploadId: string) => `tus-upload:${uploadId}`;

/**
 * How long `underUploadLock` waits for an upload's lock (the locker may give up sooner): a request asked to let go
 * stops within tus' lock drain (10 s); this leaves it room.
 */
const UPLOAD_LOCK_WAIT_MS = 30_000;

/** A request that waited its time for an upload's lock: worth a retry. */
export const uploadLockTimedOut = () =>
  new PipelineError('temporarily_unavailable', 'another request on this upload is still running; try again', { details: { retryAfterSeconds: 1 } });

/**
 * `work` holding an upload's lock (`key`: its object key), as tus' own
 * handlers hold it: a request on the upload, on any instance, is asked to
 * stop first; `work` itself goes on when asked. Past the wait: 503
 * `temporarily_unavailable`.
 */
export async function underUploadLock<T>(locker: Locker, key: string, work: () => Promise<T>): Promise<T> {
  const lock = locker.newLock(key);
  await lock.lock(AbortSignal.timeout(UPLOAD_LOCK_WAIT_MS), () => undefined).catch((error: unknown) => {
    throw error === ERRORS.ERR_LOCK_TIMEOUT ? uploadLockTimedOut() : error;
  });
  try {
    return await work();
  } finally {
    await lock.unlock();
  }
}

/** Tries again soon (a released lock is taken within 50 ms), then four times a second while a holder drains. */
const DEFAULT_RETRY: BackoffPolicy = { initialMs: 25, maxMs: 250, multiplier: 2, jitter: 0.2 };

export interface PostgresLockerOptions {
  databaseUrl: string;
  logger: Logger;
  /** How long a request waits for a lock before it fails with tus' `ERR_LOCK_TIMEOUT`; 30 s, as tus' MemoryLocker. */
  acquireTimeoutMs?: number;
  /** The wait between tries while another request holds the lock. */
  retry?: BackoffPolicy;
  clock?: Clock;
}

/** A lock this process holds, or is asking Postgres for (`session` unset until it has it). */
interface Holder {
  requestRelease: RequestRelease;
  session?: Client;
}

/**
 * tus' per-upload locks, shared by every API instance through Postgres, so a
 * load balancer may send an upload's requests anywhere.
 *
 * - A lock is a session advisory lock, `pg_try_advisory_lock`, held on one
 *   connection per process (the session). Session locks are re-entrant, so
 *   the process keeps its own map of holders: a second local request finds
 *   the first there and asks it to release, as tus' MemoryLocker does.
 * - A request that finds the lock held elsewhere NOTIFYs the upload id on
 *   `tus_lock_release`; every instance LISTENs and asks its local holder to
 *   release (tus ends that request after its `lockDrainTimeout`). The waiter
 *   tries again with a short back-off until it has the lock, its signal is
 *   aborted, or `acquireTimeoutMs` passes.
 * - The locks die with the session: a killed instance leaves none behind. A
 *   process whose session breaks asks all its holders to release, since
 *   other instances may take their uploads from then on, and opens a new one.
 */
export class PostgresLocker implements Locker {
  private readonly holders = new Map<string, Holder>();
  private readonly listener: ChannelListener;
  private readonly acquireTimeoutMs: number;
  private readonly retry: BackoffPolicy;
  private readonly clock: Clock;
  private session?: Client;
  private connecting?: Promise<Client>;
  private listening?: Promise<void>;
  private closed = false;

  constructor(private readonly options: PostgresLockerOptions) {
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.clock = options.clock ?? systemClock;
    this.listener = new ChannelListener({
      databaseUrl: options.databaseUrl,
      channel: TUS_LOCK_RELEASE_CHANNEL,
      name: 'the tus lock listener',
      logger: options.logger,
      onNotification: (uploadId) => {
        const holder = uploadId ? this.holders.get(uploadId) : undefined;
        if (holder?.session) void this.askToRelease(uploadId!, holder);
      },
      // A request missed while not listening is asked again: waiters NOTIFY on every try.
      onListening: () => undefined,
    });
  }

  newLock(id: string): Lock {
    let held: Holder | undefined;
    return {
      lock: async (signal, requestRelease) => {
        held = await this.acquire(id, signal, requestRelease);
      },
      unlock: async () => {
        if (!held) throw new Error('Releasing an unlocked lock!');
        const holder = held;
        held = undefined;
        await this.release(id, holder);
      },
    };
  }

  /** Ends the session (its locks go with it) and the listener; for shutdown, once no request runs. */
  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    await Promise.allSettled([this.listener.stop(), session?.end()]);
  }

  private async acquire(id: string, signal: AbortSignal, requestRelease: RequestRelease): Promise<Holder> {
    if (this.closed) throw new Error('the tus locker is closed');
    const waiting = AbortSignal.any([signal, AbortSignal.timeout(this.acquireTimeoutMs)]);
    // Before the first lock: a holder must hear other instances' requests to release.
    this.listening ??= this.listener.start();
    await this.listening;
    let failed = false;
    for (let attempt = 1; ; attempt += 1) {
      if (waiting.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      const local = this.holders.get(id);
      if (local) {
        await this.askToRelease(id, local);
      } else {
        const holder: Holder = { requestRelease };
        this.holders.set(id, holder);
        const outcome = await this.tryLock(id, holder);
        if (outcome === 'locked') {
          if (!waiting.aborted) return holder;
          // The signal came while Postgres answered: the caller is gone, so is the lock.
          await this.release(id, holder);
          throw ERRORS.ERR_LOCK_TIMEOUT;
        }
        if (this.holders.get(id) === holder) this.holders.delete(id);
        // Said once per request, not four times a second while the database is away.
        if (outcome instanceof Error && !failed) {
          failed = true;
          this.options.logger.warn({ err: outcome, uploadId: id }, 'could not ask Postgres for a tus upload’s lock; trying again');
        }
      }
      await this.clock.sleep(backoffDelayMs(this.retry, attempt), waiting).catch(() => undefined);
    }
  }

  /** Whether the session took the upload's lock (if another session has it, asks that one to release), or why it could not ask. */
  private async tryLock(id: string, holder: Holder): Promise<'locked' | 'held' | Error> {
    try {
      const session = await this.connect();
      const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [tusLockName(id)]);
      // A lock taken on a session that broke meanwhile went with it.
      if (rows[0]!.locked && session === this.session) {
        holder.session = session;
        return 'locked';
      }
      if (!rows[0]!.locked) await session.query('SELECT pg_notify($1, $2)', [TUS_LOCK_RELEASE_CHANNEL, id]);
      return 'held';
    } catch (error) {
      // The session broke or the database is away: tried again after the back-off, until the request's time is up.
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async release(id: string, holder: Holder): Promise<void> {
    try {
      // A session that broke released the lock already; the holder was asked to stop then.
      if (holder.session && holder.session === this.session) {
        await holder.session.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [tusLockName(id)]);
      }
    } catch (error) {
      // Not released, or not known to be: only ending the session surely releases it (and its other locks).
      this.options.logger.warn({ err: error, uploadId: id }, 'could not release a tus upload’s lock; closing the lock session');
      if (holder.session) this.sessionLost(holder.session);
    } finally {
      if (this.holders.get(id) === holder) this.holders.delete(id);
    }
  }

  private async askToRelease(id: string, holder: Holder): Promise<void> {
    try {
      await holder.requestRelease();
    } catch (error) {
      this.options.logger.warn({ err: error, uploadId: id }, 'a tus request asked to release its lock failed to');
    }
  }

  private connect(): Promise<Client> {
    if (this.session) return Promise.resolve(this.session);
    this.connecting ??= (async () => {
      const client = new Client(connectionOptions(this.options.databaseUrl));
      client.on('error', () => this.sessionLost(client));
      client.on('end', () => this.sessionLost(client));
      try {
        await client.connect();
        if (this.closed) throw new Error('the tus locker is closed');
        this.session = client;
        return client;
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  /** The session is gone, and every lock it held: their requests are asked to stop. */
  private sessionLost(client: Client): void {
    if (this.session !== client) return;
    this.session = undefined;
    void client.end().catch(() => undefined);
    const lost = [...this.holders].filter(([, holder]) => holder.session === client);
    if (lost.length) this.options.logger.warn({ uploads: lost.map(([id]) => id) }, 'the tus lock session broke: its requests are asked to stop');
    for (const [id, holder] of lost) void this.askToRelease(id, holder);
  }
}
