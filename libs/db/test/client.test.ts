import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type Notification } from 'pg';
import { applyMigrations, createPrismaClient, isDatabaseUnavailable, MIGRATIONS_DIR, sqlState, type PrismaClient, VideoStatus } from '../src';
import { silentServer } from '../../../test/support/network';
import { dropDatabases, throwawayDatabaseUrl } from './database-fixture';

const databaseUrl = throwawayDatabaseUrl('client');
let prisma: PrismaClient;
let listener: Client;
const notifications: Notification[] = [];

beforeAll(async () => {
  await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });
  prisma = createPrismaClient({ databaseUrl, poolMax: 2 });
  listener = new Client({ connectionString: databaseUrl });
  await listener.connect();
  listener.on('notification', (notification) => notifications.push(notification));
  await listener.query('LISTEN outbox_events');
});

afterAll(async () => {
  await prisma?.$disconnect();
  await listener?.end();
  await dropDatabases([databaseUrl]);
});

/** A round trip on the listener's connection: notifications sent before it have arrived. */
async function settleNotifications(): Promise<void> {
  await listener.query('SELECT 1');
}

function videoData(id: string) {
  return {
    id,
    ownerId: 'owner-1',
    bucket: 'videos',
    objectKey: `uploads/${id}`,
    sizeBytes: 5n * 1024n ** 3n, // beyond 2^32: must survive as BigInt
    sha256: 'ab'.repeat(32),
    contentType: 'video/mp4',
  };
}

function outboxEventData(videoId: string) {
  return {
    id: randomUUID(),
    topic: 'video.uploaded',
    key: videoId,
    type: 'com.example.video.uploaded',
    headers: { ce_specversion: '1.0', ce_type: 'com.example.video.uploaded' },
    payload: { videoId, sizeBytes: '5368709120', tags: ['a', null], nested: { ok: true } },
  };
}

describe('generated Prisma client on the migrated schema', () => {
  it('writes a video and its outbox event in one transaction and reads them back', async () => {
    const videoId = randomUUID();
    const [video, event] = await prisma.$transaction(async (tx) => [
      await tx.video.create({ data: videoData(videoId) }),
      await tx.outboxEvent.create({ data: outboxEventData(videoId) }),
    ]);

    const storedVideo = await prisma.video.findUniqueOrThrow({ where: { id: videoId } });
    expect(storedVideo).toEqual(video);
    expect(storedVideo.sizeBytes).toBe(5368709120n);
    expect(storedVideo.status).toBe(VideoStatus.uploaded);
    expect(storedVideo.title).toBeNull();

    const storedEvent = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(typeof storedEvent.position).toBe('bigint');
    expect(storedEvent.headers).toEqual(outboxEventData(videoId).headers);
    expect(storedEvent.payload).toEqual({ ...outboxEventData(videoId).payload, videoId });
    expect(storedEvent).toMatchObject({ publishedAt: null, publishAttempts: 0, lastError: null });
  });

  it('rolls back both rows when the transaction fails', async () => {
    const videoId = randomUUID();
    const failing = prisma.$transaction(async (tx) => {
      await tx.video.create({ data: videoData(videoId) });
      await tx.outboxEvent.create({ data: outboxEventData(videoId) });
      throw new Error('abort');
    });
    await expect(failing).rejects.toThrow('abort');
    expect(await prisma.video.count({ where: { id: videoId } })).toBe(0);
    expect(await prisma.outboxEvent.count({ where: { key: videoId } })).toBe(0);
  });

  it('notifies outbox_events on commit, once per insert statement, and not on rollback', async () => {
    await settleNotifications();
    notifications.length = 0;
    const videoId = randomUUID();

    await prisma.$transaction(async (tx) => {
      await tx.outboxEvent.create({ data: outboxEventData(videoId) });
      await settleNotifications();
      expect(notifications).toHaveLength(0); // NOTIFY waits for the commit
    });
    await settleNotifications();
    expect(notifications.map((n) => [n.channel, n.payload])).toEqual([['outbox_events', '']]);

    await prisma.outboxEvent.createMany({ data: [1, 2, 3].map(() => outboxEventData(videoId)) });
    await settleNotifications();
    expect(notifications).toHaveLength(2);

    await expect(
      prisma.$transaction(async (tx) => {
        await tx.outboxEvent.create({ data: outboxEventData(videoId) });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await settleNotifications();
    expect(notifications).toHaveLength(2);
  });

  it('lists unpublished events in position order', async () => {
    const videoId = randomUUID();
    await prisma.outboxEvent.createMany({ data: [1, 2].map(() => outboxEventData(videoId)) });
    const unpublished = await prisma.outboxEvent.findMany({
      where: { key: videoId, publishedAt: null },
      orderBy: { position: 'asc' },
    });
    expect(unpublished).toHaveLength(2);
    expect(unpublished[0]!.position < unpublished[1]!.position).toBe(true);
  });
});

describe('queries Prisma sends at once on one connection', () => {
  it('take turns: a transaction reading a video with its relations gets them all, and pg warns of nothing', async () => {
    // pg warns once per process: a process of its own, as every worker is.
    const script = path.join(__dirname, 'fixtures', 'include-in-transaction.ts');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, databaseUrl], { cwd: path.resolve(__dirname, '../../..') });
    expect(JSON.parse(stdout)).toEqual({ stages: ['thumbnails', 'transcode'], ladder: true, renditions: 0, moderation: null });
    expect(stderr).not.toContain('Warning');
  });
});

describe('a connection lost mid-transaction', () => {
  it('fails the transaction and keeps the process alive; the pool drops the broken connection', async () => {
    const videoId = randomUUID();
    // The server ends the session during the work: the statement fails, then the socket closes.
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.videoReceipt.create({ data: { consumerGroup: `lost|${randomUUID()}`, videoId, eventId: randomUUID() } });
        await tx.$queryRaw`SELECT pg_terminate_backend(pg_backend_pid())`;
      }),
    ).rejects.toThrow();
    expect(await prisma.videoReceipt.count({ where: { videoId } })).toBe(0);
    // The pool has two connections; both still work.
    await Promise.all([prisma.$queryRaw`SELECT 1`, prisma.$queryRaw`SELECT 1`]);
  });
});

describe('how long a pipeline client waits for the database', () => {
  /** A database host that hangs: it accepts connections and never says a word. */
  async function silentDatabase(): Promise<{ url: string; close: () => Promise<void> }> {
    const server = await silentServer();
    return { url: `postgresql://postgres@127.0.0.1:${server.port}/silent`, close: server.close };
  }

  it('gives up on a database that never answers after connectTimeoutMs, for raw and model queries alike', async () => {
    const silent = await silentDatabase();
    const client = createPrismaClient({ databaseUrl: silent.url, connectTimeoutMs: 200 });
    try {
      const failures = [await client.$queryRaw`SELECT 1`.catch((error: unknown) => error), await client.video.count().catch((error: unknown) => error)];
      for (const failure of failures) {
        expect(failure).toMatchObject({ message: expect.stringMatching(/connection timeout/) });
        expect(isDatabaseUnavailable(failure)).toBe(true);
      }
    } finally {
      await client.$disconnect();
      await silent.close();
    }
  });

  it("takes the URL's connect_timeout (in seconds, as libpq reads it) over the option", async () => {
    const silent = await silentDatabase();
    const client = createPrismaClient({ databaseUrl: `${silent.url}?connect_timeout=1`, connectTimeoutMs: 60_000 });
    try {
      await expect(client.$queryRaw`SELECT 1`).rejects.toThrow(/connection timeout/);
    } finally {
      await client.$disconnect();
      await silent.close();
    }
  });

  it("sets the sessions' lock and idle-in-transaction timeouts, and lets the URL's own settings win", async () => {
    const settingsOf = async (client: PrismaClient) =>
      (await client.$queryRaw<{ lock: string; idle: string }[]>`SELECT current_setting('lock_timeout') AS lock, current_setting('idle_in_transaction_session_timeout') AS idle`)[0];
    const defaults = createPrismaClient({ databaseUrl, poolMax: 1 });
    const tuned = createPrismaClient({ databaseUrl, poolMax: 1, lockTimeoutMs: 1_500, idleInTransactionTimeoutMs: 2_500 });
    const overridden = createPrismaClient({ databaseUrl: `${databaseUrl}?lock_timeout=700`, poolMax: 1, lockTimeoutMs: 1_500 });
    try {
      expect(await settingsOf(defaults)).toEqual({ lock: '0', idle: '1min' });
      expect(await settingsOf(tuned)).toEqual({ lock: '1500ms', idle: '2500ms' });
      expect(await settingsOf(overridden)).toEqual({ lock: '700ms', idle: '1min' });
    } finally {
      await Promise.all([defaults.$disconnect(), tuned.$disconnect(), overridden.$disconnect()]);
    }
  });

  it('fails a statement that waits for a lock longer than lockTimeoutMs', async () => {
    const impatient = createPrismaClient({ databaseUrl, poolMax: 1, lockTimeoutMs: 200 });
    const lock = `SELECT pg_advisory_xact_lock(${Date.now() % 1_000_000})::text`;
    let release!: () => void;
    const holding = prisma.$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe(lock);
        await new Promise<void>((resolve) => (release = resolve));
      },
      { timeout: 10_000 },
    );
    try {
      await sleep(50);
      const failure = await impatient.$transaction((tx) => tx.$queryRawUnsafe(lock)).catch((error: unknown) => error);
      expect(sqlState(failure)).toBe('55P03');
    } finally {
      release();
      await holding;
      await impatient.$disconnect();
    }
  });

  it('ends a transaction its process left idle, so that its locks no longer hold others up', async () => {
    const frozen = createPrismaClient({ databaseUrl, poolMax: 1, idleInTransactionTimeoutMs: 300 });
    const lock = `SELECT pg_advisory_xact_lock(${(Date.now() % 1_000_000) + 1})::text`;
    try {
      let locked!: () => void;
      const hasLock = new Promise<void>((resolve) => (locked = resolve));
      // The transaction takes the lock, then its process stops talking to the database for far longer than the timeout.
      const abandoned = frozen.$transaction(
        async (tx) => {
          await tx.$queryRawUnsafe(lock);
          locked();
          await sleep(2_000);
          await tx.$queryRawUnsafe('SELECT 1');
        },
        { timeout: 10_000 },
      );
      await hasLock;
      await prisma.$transaction((tx) => tx.$queryRawUnsafe(lock)); // would wait for ever if the session lived on
      await expect(abandoned).rejects.toThrow(); // its connection is gone
      expect(await frozen.$queryRaw`SELECT 1 AS ok`).toEqual([{ ok: 1 }]); // the pool replaced the ended connection
    } finally {
      await frozen.$disconnect();
    }
  });
});

describe('isDatabaseUnavailable tells an outage from a refused statement (errors made by real connections)', () => {
  const failureOf = (work: () => Promise<unknown>) =>
    work().then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: unknown) => error,
    );

  it('takes an unreachable database for an outage, for raw and model queries, in a transaction or not', async () => {
    const unreachable = createPrismaClient({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/nowhere', poolMax: 1 });
    try {
      expect(isDatabaseUnavailable(await failureOf(() => unreachable.video.count()))).toBe(true);
      expect(isDatabaseUnavailable(await failureOf(() => unreachable.$transaction(async (tx) => tx.video.count())))).toBe(true);
      expect(isDatabaseUnavailable(await failureOf(() => unreachable.$queryRaw`SELECT 1`))).toBe(true);
      expect(isDatabaseUnavailable(await failureOf(() => unreachable.$transaction((tx) => tx.$queryRaw`SELECT 1`)))).toBe(true);
    } finally {
      await unreachable.$disconnect();
    }
  });

  it('takes a session the server ended for an outage', async () => {
    expect(isDatabaseUnavailable(await failureOf(() => prisma.$transaction((tx) => tx.$queryRaw`SELECT pg_terminate_backend(pg_backend_pid())`)))).toBe(true);
    expect(isDatabaseUnavailable(await failureOf(() => prisma.$queryRaw`SELECT pg_terminate_backend(pg_backend_pid())`))).toBe(true);
  });

  it('takes a pool that frees no connection in time for an outage', async () => {
    const busy = createPrismaClient({ databaseUrl, poolMax: 1, connectTimeoutMs: 200 });
    let release!: () => void;
    const holding = busy.$transaction(() => new Promise<void>((resolve) => (release = resolve)), { timeout: 10_000 });
    try {
      await sleep(50);
      expect(isDatabaseUnavailable(await failureOf(() => busy.$queryRaw`SELECT 1`))).toBe(true);
    } finally {
      release();
      await holding;
      await busy.$disconnect();
    }
  });

  it('does not take errors of the statement itself for an outage', async () => {
    const id = randomUUID();
    await prisma.video.create({ data: videoData(id) });
    expect(isDatabaseUnavailable(await failureOf(() => prisma.video.create({ data: videoData(id) })))).toBe(false);
    expect(isDatabaseUnavailable(await failureOf(() => prisma.$queryRaw`SELECT * FROM no_such_table`))).toBe(false);
    expect(isDatabaseUnavailable(await failureOf(() => prisma.$queryRaw`SELECT 1 / 0`))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable('boom')).toBe(false);
  });
});
