import { randomUUID } from 'node:crypto';
import { Client, type Notification } from 'pg';
import { applyMigrations, createPrismaClient, inTransaction, MIGRATIONS_DIR, queryRows, type PrismaClient, VideoStatus } from '../src';
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

describe('queryRows: plain SQL on the pool behind a Prisma client', () => {
  it('runs positional parameters and returns the rows as pg parses them', async () => {
    const rows = await queryRows<{ n: number; ids: string }>(prisma, `SELECT $1::int + 1 AS n, array_to_string(string_to_array($2, ','), '|') AS ids`, [41, 'a,b']);
    expect(rows).toEqual([{ n: 42, ids: 'a|b' }]);
  });

  it('sees what Prisma committed, in the same database', async () => {
    const id = randomUUID();
    await prisma.video.create({ data: videoData(id) });
    const rows = await queryRows<{ size: string }>(prisma, 'SELECT size_bytes::text AS size FROM videos WHERE id = $1', [id]);
    expect(rows).toEqual([{ size: String(5n * 1024n ** 3n) }]);
  });

  it('reports SQL errors as pg errors, with their SQLSTATE', async () => {
    await expect(queryRows(prisma, 'SELECT * FROM no_such_table', [])).rejects.toMatchObject({ code: '42P01' });
  });

  it('ends the pool on $disconnect even when Prisma itself never ran a query', async () => {
    const client = createPrismaClient({ databaseUrl, poolMax: 1 });
    await queryRows(client, 'SELECT 1', []);
    await client.$disconnect();
    await expect(queryRows(client, 'SELECT 1', [])).rejects.toThrow(/after calling end on the pool/);
  });

  it('falls back to $queryRawUnsafe for a client it did not make', async () => {
    const calls: unknown[][] = [];
    const standIn = { $queryRawUnsafe: async (...args: unknown[]) => (calls.push(args), [{ ok: true }]) } as unknown as PrismaClient;
    expect(await queryRows(standIn, 'SELECT $1', [7])).toEqual([{ ok: true }]);
    expect(calls).toEqual([['SELECT $1', 7]]);
  });
});

describe('inTransaction: plain SQL in one transaction on the pool behind a Prisma client', () => {
  const receipt = (videoId: string) => [`inTransaction|${randomUUID()}`, videoId, randomUUID()];
  const insertReceipt = 'INSERT INTO video_receipts (consumer_group, video_id, event_id) VALUES ($1, $2, $3)';
  const receiptsOf = async (videoId: string) => (await queryRows<{ n: number }>(prisma, 'SELECT count(*)::int AS n FROM video_receipts WHERE video_id = $1', [videoId]))[0]!.n;

  it('commits what the work wrote when it resolves, and returns its result', async () => {
    const videoId = randomUUID();
    const result = await inTransaction(prisma, async (run) => {
      await run(insertReceipt, receipt(videoId));
      await run(insertReceipt, receipt(videoId));
      return (await run<{ n: number }>('SELECT count(*)::int AS n FROM video_receipts WHERE video_id = $1', [videoId]))[0]!.n;
    });
    expect(result).toBe(2);
    expect(await receiptsOf(videoId)).toBe(2);
  });

  it('rolls back everything when the work throws, and leaves the connection usable', async () => {
    const videoId = randomUUID();
    await expect(
      inTransaction(prisma, async (run) => {
        await run(insertReceipt, receipt(videoId));
        await run('SELECT * FROM no_such_table', []);
      }),
    ).rejects.toMatchObject({ code: '42P01' });
    expect(await receiptsOf(videoId)).toBe(0);
    // The pool has two connections; both still work, outside any transaction.
    await Promise.all([queryRows(prisma, 'SELECT 1', []), queryRows(prisma, 'SELECT 1', [])]);
    expect(await queryRows(prisma, 'SELECT now() = statement_timestamp() AS outside', [])).toEqual([{ outside: true }]);
  });

  it('fails, and keeps the process alive, when the connection is lost mid-transaction', async () => {
    const videoId = randomUUID();
    // The server ends the session during the work: the statement fails, then the socket closes.
    await expect(
      inTransaction(prisma, async (run) => {
        await run(insertReceipt, receipt(videoId));
        await run('SELECT pg_terminate_backend(pg_backend_pid())', []);
      }),
    ).rejects.toMatchObject({ code: '57P01' });
    expect(await receiptsOf(videoId)).toBe(0);
    // The broken connection was dropped, not handed out again.
    await Promise.all([queryRows(prisma, 'SELECT 1', []), queryRows(prisma, 'SELECT 1', [])]);
  });

  it("falls back to Prisma's transaction for a client it did not make", async () => {
    const calls: unknown[][] = [];
    const tx = { $queryRawUnsafe: async (...args: unknown[]) => (calls.push(args), [{ ok: true }]) };
    const standIn = { $transaction: async (work: (client: typeof tx) => Promise<unknown>) => work(tx) } as unknown as PrismaClient;
    expect(await inTransaction(standIn, (run) => run('SELECT $1', [7]))).toEqual([{ ok: true }]);
    expect(calls).toEqual([['SELECT $1', 7]]);
  });
});
