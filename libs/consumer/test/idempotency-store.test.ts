import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { IdempotencyStore } from '../src';
import { newEventId } from '@video-pipeline/events';
import { mayHaveBeenProcessed, processedFromSql, processedSql, type Effects } from '../src/idempotency';
import { eventIdMadeAt } from '../../../test/support/events';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { appliedEffects } from './support/effects';
import { processedEventIds } from './support/harness';

/** The store on the real database, where the runtime's tests cannot easily stage a race. */
describe('IdempotencyStore', () => {
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = createPrismaClient({ databaseUrl: testConfig('store.').database.url, poolMax: 2 });
  });
  afterAll(() => prisma.$disconnect());

  const store = () => {
    const groupId = uniquePrefix('store') + 'group';
    return { groupId, store: new IdempotencyStore(prisma, groupId) };
  };

  it('records new ids and then reports them processed, for its own group only', async () => {
    const { store: mine } = store();
    const { store: theirs } = store();
    const ids = [randomUUID(), randomUUID()];
    expect(await mine.complete(ids.map((eventId) => ({ eventId })))).toEqual(new Set(ids));
    expect(await mine.processed([...ids, randomUUID()])).toEqual(new Set(ids));
    expect(await theirs.processed(ids)).toEqual(new Set());
  });

  it('when another instance recorded some ids meanwhile, records the rest and reports only those as new', async () => {
    const { groupId, store: mine } = store();
    const other = new IdempotencyStore(prisma, groupId); // the previous owner of a partition, mid-rebalance
    const raced = randomUUID();
    const fresh = [randomUUID(), randomUUID()];
    await other.complete([{ eventId: raced }]);

    expect(await mine.complete([{ eventId: fresh[0]! }, { eventId: raced }, { eventId: fresh[1]! }])).toEqual(new Set(fresh));
    expect(await mine.processed([raced, ...fresh])).toEqual(new Set([raced, ...fresh]));
  });

  it('takes ids in either case, as Postgres does', async () => {
    const { store: mine } = store();
    const id = randomUUID();
    expect(await mine.complete([{ eventId: id.toUpperCase() }])).toEqual(new Set([id]));
    expect(await mine.processed([id])).toEqual(new Set([id]));
    expect(await mine.complete([{ eventId: id }, { eventId: id.toUpperCase() }])).toEqual(new Set());
  });

  it('records an id given twice in one call once', async () => {
    const { store: mine } = store();
    const id = randomUUID();
    expect(await mine.complete([{ eventId: id }, { eventId: id }])).toEqual(new Set([id]));
    expect(await timesRecorded(prisma, id)).toBe(1);
  });

  it('applies effects once per new id, in the transaction that records it', async () => {
    const { groupId, store: mine } = store();
    const videoId = randomUUID();
    const effectsOf = (eventId: string): Effects => async (tx) => {
      await tx.videoReceipt.create({ data: { consumerGroup: `${groupId}|test|${randomUUID()}`, videoId, eventId } });
    };
    const [a, b] = [randomUUID(), randomUUID()];
    await mine.complete([{ eventId: a, effects: effectsOf(a) }]);
    expect(await mine.complete([{ eventId: a, effects: effectsOf(a) }, { eventId: b, effects: effectsOf(b) }, { eventId: b, effects: effectsOf(b) }])).toEqual(new Set([b]));
    expect((await appliedEffects(prisma, groupId)).map((row) => row.eventId).sort()).toEqual([a, b].sort());
  });

  it('records nothing when effects fail', async () => {
    const { groupId, store: mine } = store();
    const id = randomUUID();
    await expect(mine.complete([{ eventId: id, effects: async () => Promise.reject(new Error('effects broke')) }])).rejects.toThrow('effects broke');
    expect(await mine.processed([id])).toEqual(new Set());
    expect(await appliedEffects(prisma, groupId)).toEqual([]);
  });

  describe('watermarks', () => {
    const topic = 'video.uploaded';
    const ids = (count: number) => Array.from({ length: count }, () => newEventId()); // growing, like a live stream's
    const fromPartition = (partition: number) => (eventId: string) => ({ eventId, origin: { topic, partition } });

    it("keeps each partition's highest recorded id, and finds a copy of a recorded event on its partition", async () => {
      const { store: mine } = store();
      const [a, b, c] = ids(3);
      await mine.complete([a!].map(fromPartition(0)));
      await mine.complete([b!].map(fromPartition(1)));
      await mine.complete([c!].map(fromPartition(0)));

      expect(await mine.processedFrom({ topic, partition: 0 }, [a!, b!, c!])).toEqual({ processed: new Set([a, b, c]), watermark: c, version: 2 });
      // Partition 1's watermark is its own, below c: c is not probed for there (and a copy of c never lands there).
      expect(await mine.processedFrom({ topic, partition: 1 }, [a!, b!, c!])).toEqual({ processed: new Set([a, b]), watermark: b, version: 1 });
    });

    it("starts a partition's watermark at the highest id the group recorded without knowing its partition", async () => {
      const { store: mine } = store();
      const [a, b, c] = ids(3);
      await mine.complete([c!].map(fromPartition(0)));
      // Another partition's ids say nothing about partition 1: nothing of it was recorded, nothing is probed.
      expect(await mine.processedFrom({ topic, partition: 1 }, [a!, c!])).toEqual({ processed: new Set(), watermark: null, version: 0 });
      await mine.complete([{ eventId: b! }]);
      // Partition 1 has no watermark of its own yet: the unattributed one stands in, so b (perhaps from there) is found.
      expect(await mine.processedFrom({ topic, partition: 1 }, [a!, b!])).toEqual({ processed: new Set([b]), watermark: b, version: 0 });
      await mine.complete([a!].map(fromPartition(1)));
      expect(await mine.processedFrom({ topic, partition: 1 }, [a!, b!])).toEqual({ processed: new Set([a, b]), watermark: b, version: 1 });
    });

    it('raises every watermark of the group past an id of unknown origin, and none of another group', async () => {
      const { store: mine } = store();
      const { store: theirs } = store();
      const [a, b, c] = ids(3);
      await mine.complete([a!].map(fromPartition(0)));
      await theirs.complete([a!].map(fromPartition(0)));
      await mine.complete([{ eventId: b!, effects: undefined }]);
      expect(await mine.processedFrom({ topic, partition: 0 }, [b!, c!])).toEqual({ processed: new Set([b]), watermark: b, version: 2 });
      expect(await theirs.processedFrom({ topic, partition: 0 }, [b!])).toEqual({ processed: new Set(), watermark: a, version: 1 });
    });

    it('raises the watermark in the transaction with the effects, and not when they fail', async () => {
      const { groupId, store: mine } = store();
      const [a, b] = ids(2);
      await mine.complete([{ ...fromPartition(0)(a!), effects: async (tx) => void (await tx.videoReceipt.create({ data: { consumerGroup: `${groupId}|test`, videoId: randomUUID(), eventId: a! } })) }]);
      await expect(mine.complete([{ ...fromPartition(0)(b!), effects: async () => Promise.reject(new Error('effects broke')) }])).rejects.toThrow('effects broke');
      expect(await mine.processedFrom({ topic, partition: 0 }, [a!, b!])).toEqual({ processed: new Set([a]), watermark: a, version: 1 });
    });

    it('probes only for ids at or below the watermark', async () => {
      const { groupId, store: mine } = store();
      const recorded = ids(50);
      await mine.complete(recorded.map(fromPartition(0)));
      const lookedUp = [...recorded.slice(40), ...ids(90)];
      const { probes } = await scansOf(prisma, processedFromSql, [groupId, lookedUp.join(','), topic, 0]);
      expect(probes).toBe(10); // the 10 recorded ones; the 90 newer ids are never probed
    });

    it('tells which ids of a partition may have been processed, from its watermark', () => {
      const [low, mark, high] = ids(3);
      expect([low, mark, high].map((id) => mayHaveBeenProcessed(id!, mark!))).toEqual([true, true, false]);
      expect(mayHaveBeenProcessed(low!.toUpperCase(), mark!)).toBe(true);
      expect(mayHaveBeenProcessed(low!, null)).toBe(false); // the group has processed nothing
    });
  });

  it.each([
    ['time-ordered ids, a set per commit', () => newEventId(), 50],
    ['ids that do not tell their age, a set each', () => randomUUID(), 1_000],
  ])('looks up each id with one probe of the sets that span it, however many the group has recorded since the last ANALYZE: %s', async (_, makeId, perCommit) => {
    const { groupId, store: mine } = store();
    // Statistics that do not know the group yet, as for a new group draining a backlog.
    await prisma.$executeRawUnsafe('ANALYZE processed_event_sets');
    const recorded: string[] = [];
    for (let commit = 0; commit < 20_000 / perCommit; commit++) {
      const ids = Array.from({ length: perCommit }, makeId);
      await mine.complete(ids.map((eventId) => ({ eventId })));
      recorded.push(ids[0]!);
    }
    const lookedUp = [...recorded.slice(0, 10), ...Array.from({ length: 90 }, makeId)];

    expect(await mine.processed(lookedUp)).toEqual(new Set(recorded.slice(0, 10)));
    expect(await scansOf(prisma, processedSql, [groupId, lookedUp.join(',')])).toEqual({
      probes: lookedUp.length,
      tableScans: 0,
      setsRead: 10, // of the group's 400 sets (or 20 000), only the ones holding a recorded id
    });
  });

  describe('versions', () => {
    const origin = { topic: 'video.uploaded', partition: 0 };
    const ids = (count: number) => Array.from({ length: count }, () => newEventId());
    const fromOrigin = (eventId: string) => ({ eventId, origin });

    it('records a commit that finds the version it expects with one statement, as one set', async () => {
      const { groupId, store: mine } = store();
      const [first, ...rest] = ids(5);
      await mine.complete([first!].map(fromOrigin)); // makes the partition's watermark row: version 1
      const { version } = await mine.processedFrom(origin, rest);
      expect(version).toBe(1);

      expect(await mine.complete(rest.slice(0, 2).map(fromOrigin), version)).toEqual(new Set(rest.slice(0, 2)));
      expect(await mine.complete(rest.slice(2).map(fromOrigin), version + 1)).toEqual(new Set(rest.slice(2)));
      expect(await mine.processedFrom(origin, [])).toMatchObject({ version: 3 });
      const sets = await prisma.processedEventSet.findMany({ where: { consumerGroup: groupId }, orderBy: { id: 'asc' } });
      expect(sets.map((set) => set.eventIds)).toEqual([[first], rest.slice(0, 2), rest.slice(2)]);
    });

    it('checks a commit whose expected version is stale against what was recorded since, and reports only new ids', async () => {
      const { groupId, store: mine } = store();
      const other = new IdempotencyStore(prisma, groupId); // the partition's other owner, mid-rebalance
      const [seed, raced, fresh] = ids(3);
      await mine.complete([seed!].map(fromOrigin));
      const { version } = await mine.processedFrom(origin, [raced!, fresh!]);
      await other.complete([raced!].map(fromOrigin), version);

      expect(await mine.complete([raced!, fresh!].map(fromOrigin), version)).toEqual(new Set([fresh]));
      expect(await timesRecorded(prisma, raced!)).toBe(1);
      expect(await mine.processedFrom(origin, [])).toMatchObject({ version: version + 2 });
    });

    it('lets only one of two racing commits of the same ids count them as new', async () => {
      const { groupId } = store();
      const [seed, ...racing] = ids(20);
      const [a, b] = [new IdempotencyStore(prisma, groupId), new IdempotencyStore(prisma, groupId)];
      await a.complete([seed!].map(fromOrigin));
      const { version } = await a.processedFrom(origin, racing);

      const [fromA, fromB] = await Promise.all([a.complete(racing.map(fromOrigin), version), b.complete(racing.map(fromOrigin), version)]);
      expect([fromA.size, fromB.size].sort()).toEqual([0, racing.length]);
      for (const id of racing) expect(await timesRecorded(prisma, id)).toBe(1);
    });

    it('serializes a commit of unknown origin with one of a partition that has no watermark yet', async () => {
      const { groupId } = store();
      const [id] = ids(1);
      const results = await Promise.all([
        new IdempotencyStore(prisma, groupId).complete([{ eventId: id! }]),
        new IdempotencyStore(prisma, groupId).complete([fromOrigin(id!)]),
      ]);
      expect(results.map((fresh) => fresh.size).sort()).toEqual([0, 1]);
      expect(await timesRecorded(prisma, id!)).toBe(1);
    });
  });
});

type Scans = { probes: number; setsRead: number; tableScans: number };

/**
 * How a lookup reached the sets, as Postgres counts it: probes of the span
 * index, sets those probes returned, and sequential scans of the whole
 * table. (The backend's counts of this transaction, before and after: they
 * may also hold earlier transactions' counts not yet reported.)
 */
async function scansOf(prisma: PrismaClient, sql: string, params: unknown[]): Promise<Scans> {
  const countsSql = `
    SELECT pg_stat_get_xact_numscans('processed_event_sets_span_idx'::regclass)::int AS "probes",
           pg_stat_get_xact_tuples_returned('processed_event_sets_span_idx'::regclass)::int AS "setsRead",
           pg_stat_get_xact_numscans('processed_event_sets'::regclass)::int AS "tableScans"`;
  return prisma.$transaction(async (tx) => {
    const [before] = await tx.$queryRawUnsafe<Scans[]>(countsSql);
    await tx.$queryRawUnsafe(sql, ...params);
    const [after] = await tx.$queryRawUnsafe<Scans[]>(countsSql);
    return { probes: after!.probes - before!.probes, setsRead: after!.setsRead - before!.setsRead, tableScans: after!.tableScans - before!.tableScans };
  });
}

/** How many sets, of any group, hold the id. */
async function timesRecorded(prisma: PrismaClient, eventId: string): Promise<number> {
  const [row] = await prisma.$queryRawUnsafe<{ times: number }[]>('SELECT count(*)::int AS times FROM processed_event_sets WHERE $1::uuid = ANY(event_ids)', eventId);
  return row!.times;
}

describe('IdempotencyStore.prune', () => {
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = createPrismaClient({ databaseUrl: testConfig('prune.').database.url, poolMax: 2 });
  });
  afterAll(() => prisma.$disconnect());

  const DAY_MS = 24 * 60 * 60 * 1000;

  it('deletes, a batch of sets at a time, the records of time-ordered ids made before the moment, and nothing else', async () => {
    const groupId = uniquePrefix('prune') + 'group';
    const otherGroupId = uniquePrefix('prune') + 'other';
    const now = Date.now();
    const old = Array.from({ length: 25 }, (_, index) => eventIdMadeAt(now - 40 * DAY_MS + index));
    const young = Array.from({ length: 3 }, () => eventIdMadeAt(now - DAY_MS));
    // A set with one young id is kept whole.
    const straddling = [eventIdMadeAt(now - 40 * DAY_MS), eventIdMadeAt(now - DAY_MS)];
    // Ids that do not tell their age, one of them below every time-ordered id: kept.
    const ageless = [randomUUID(), '00000000-0000-4000-8000-000000000001'];
    const mine = new IdempotencyStore(prisma, groupId);
    for (let start = 0; start < old.length; start += 5) await mine.complete(old.slice(start, start + 5).map((eventId) => ({ eventId })));
    for (const ids of [young, straddling, ageless]) await mine.complete(ids.map((eventId) => ({ eventId })));
    await new IdempotencyStore(prisma, otherGroupId).complete(old.map((eventId) => ({ eventId })));

    const progress: number[] = [];
    const deleted = await mine.prune(new Date(now - 30 * DAY_MS), { batchSize: 2, onProgress: (soFar) => progress.push(soFar) });

    expect(deleted).toBe(old.length);
    expect(progress).toEqual([10, 20, 25]);
    expect((await processedEventIds(prisma, groupId)).sort()).toEqual([...young, ...straddling, ...ageless].sort());
    expect(await processedEventIds(prisma, otherGroupId)).toHaveLength(old.length);
    expect(await mine.prune(new Date(now - 30 * DAY_MS))).toBe(0);
  });
});
