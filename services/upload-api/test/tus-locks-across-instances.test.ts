import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ERRORS, type Lock } from '@tus/server';
import { eventually, testLogger } from '../../../test/support/pipeline';
import { TEST_DATABASE_URL } from '../../../test/support/test-env';
import { PostgresLocker, tusLockName } from '../src/uploads/tus-locker';

/**
 * `PostgresLocker` against the test stack's Postgres: each locker here
 * stands for one API instance (its own session and listener).
 */
describe('tus locks shared by API instances through Postgres', () => {
  const lockers: PostgresLocker[] = [];
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  const instance = (options: { acquireTimeoutMs?: number } = {}) => {
    const locker = new PostgresLocker({ databaseUrl: TEST_DATABASE_URL, logger: testLogger(), ...options });
    lockers.push(locker);
    return locker;
  };
  const uploadKey = () => `videos/${randomUUID()}/original`;
  const forever = () => new AbortController().signal;
  /** The backend holding the upload's advisory lock, if one does. */
  const holderPid = async (key: string): Promise<number | undefined> => {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
         AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
      [tusLockName(key)],
    );
    return rows[0]?.pid;
  };
  /** A holder that lets go `afterMs` after it is first asked, recording what happens in `events`. */
  const holdUntilAsked = async (lock: Lock, events: string[], afterMs = 300) => {
    let asked = false;
    await lock.lock(forever(), () => {
      if (asked) return;
      asked = true;
      events.push('asked');
      setTimeout(() => void lock.unlock().then(() => events.push('released')), afterMs);
    });
  };

  beforeAll(() => admin.connect());
  afterEach(async () => {
    await Promise.all(lockers.splice(0).map((locker) => locker.close()));
  });
  afterAll(() => admin.end());

  test('a request on another instance asks the holder to release, and gets the lock only once it has', async () => {
    const [a, b] = [instance(), instance()];
    const key = uploadKey();
    const events: string[] = [];
    await holdUntilAsked(a.newLock(key), events);
    const aPid = await holderPid(key);
    expect(aPid).toBeDefined();

    const waiter = b.newLock(key);
    await waiter.lock(AbortSignal.timeout(10_000), () => undefined);
    events.push('acquired');
    expect(events).toEqual(['asked', 'released', 'acquired']);
    // Held by b's session now, not a's.
    const bPid = await holderPid(key);
    expect(bPid).toBeDefined();
    expect(bPid).not.toBe(aPid);
    await waiter.unlock();
    expect(await holderPid(key)).toBeUndefined();
  });

  test('two requests in one instance take turns the same way', async () => {
    const a = instance();
    const key = uploadKey();
    const events: string[] = [];
    await holdUntilAsked(a.newLock(key), events);
    const second = a.newLock(key);
    await second.lock(AbortSignal.timeout(10_000), () => undefined);
    events.push('acquired');
    expect(events).toEqual(['asked', 'released', 'acquired']);
    await second.unlock();
  });

  test('locks of different uploads do not wait for each other', async () => {
    const [a, b] = [instance(), instance()];
    const [first, second] = [a.newLock(uploadKey()), b.newLock(uploadKey())];
    await first.lock(forever(), () => undefined);
    await second.lock(AbortSignal.timeout(1_000), () => undefined);
    await Promise.all([first.unlock(), second.unlock()]);
  });

  test('a waiter whose signal aborts, or whose time is up, fails with tus’ lock timeout and leaves nothing behind', async () => {
    const [a, b] = [instance(), instance({ acquireTimeoutMs: 400 })];
    const key = uploadKey();
    const stubborn = a.newLock(key);
    const asked = jest.fn();
    await stubborn.lock(forever(), asked);

    const aborted = a.newLock(key);
    await expect(aborted.lock(AbortSignal.timeout(300), () => undefined)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    await expect(b.newLock(key).lock(forever(), () => undefined)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    expect(asked).toHaveBeenCalled();
    // A lock never taken cannot be released.
    await expect(aborted.unlock()).rejects.toThrow('Releasing an unlocked lock!');

    // The waiters left no claim: once the holder lets go, the upload is free on either instance.
    await stubborn.unlock();
    const next = b.newLock(key);
    await next.lock(AbortSignal.timeout(1_000), () => undefined);
    await next.unlock();
    const local = a.newLock(key);
    await local.lock(AbortSignal.timeout(1_000), () => undefined);
    await local.unlock();
  });

  test('a lock dies with its holder’s session: the holder is told to stop, and another instance gets the lock', async () => {
    const [a, b] = [instance(), instance()];
    const key = uploadKey();
    const holder = a.newLock(key);
    const asked = jest.fn();
    await holder.lock(forever(), asked);
    const pid = await holderPid(key);
    expect(pid).toBeDefined();

    // Nobody else asked for the lock: the holder hears only that its session is gone, and must stop writing.
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually(async () => asked.mock.calls.length > 0, 5_000, 'the holder to be told its lock is gone');

    const waiting = b.newLock(key);
    await waiting.lock(AbortSignal.timeout(5_000), () => undefined);
    const bPid = await holderPid(key);
    expect(bPid).toBeDefined();
    expect(bPid).not.toBe(pid);
    // The old holder's unlock after the fact leaves b's lock alone.
    await holder.unlock();
    expect(await holderPid(key)).toBe(bPid);
    await waiting.unlock();

    // And instance a takes locks again, on a new session.
    const again = a.newLock(key);
    await again.lock(AbortSignal.timeout(5_000), () => undefined);
    expect(await holderPid(key)).not.toBe(pid);
    await again.unlock();
  });

  test('a closed instance leaves no lock behind', async () => {
    const [a, b] = [instance(), instance()];
    const key = uploadKey();
    await a.newLock(key).lock(forever(), () => undefined);
    await a.close();
    const next = b.newLock(key);
    await next.lock(AbortSignal.timeout(2_000), () => undefined);
    await next.unlock();
  });
  test('with the database away, a request waits its time, fails with the lock timeout, and the failure is logged once', async () => {
    const logger = testLogger();
    const warn = jest.spyOn(logger, 'warn');
    // Nothing listens on port 1: every connection is refused at once.
    const away = new PostgresLocker({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/nothing', logger, acquireTimeoutMs: 800 });
    lockers.push(away);
    await expect(away.newLock(uploadKey()).lock(forever(), () => undefined)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    expect(warn.mock.calls.filter(([, message]) => message === 'could not ask Postgres for a tus upload’s lock; trying again')).toHaveLength(1);
  });
});
