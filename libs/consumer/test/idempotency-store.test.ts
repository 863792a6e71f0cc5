import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { IdempotencyStore } from '../src';
import { newEventId } from '@video-pipeline/events';
import { mayHaveBeenProcessed, processedFromSql, processedSql, type Effects } from '../src/idempotency';
import { eventIdMadeAt } from '../../../test/support/events';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { appliedEffects } from './support/effects';

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

  it('records an id given twice in one call once', async () => {
    const { store: mine } = store();
    const id = randomUUID();
    expect(await mine.complete([{ eventId: id }, { eventId: id }])).toEqual(new Set([id]));
    expect(await prisma.processedEvent.count({ where: { eventId: id } })).toBe(1);
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

      expect(await mine.processedFrom({ topic, partition: 0 }, [a!, b!, c!])).toEqual({ processed: new Set([a, b, c]), watermark: c });
      // Partition 1's watermark is its own, below c: c is not probed for there (and a copy of c never lands there).
      expect(await mine.processedFrom({ topic, partition: 1 }, [a!, b!, c!])).toEqual({ processed: new Set([a, b]), watermark: b });
    });

    it("starts a partition's watermark at the highest id the group recorded anywhere", async () => {
      const { store: mine } = store();
      const [a, b] = ids(2);
      await mine.complete([b!].map(fromPartition(0)));
      // Partition 1 has no watermark of its own yet: the group's highest id stands in, so nothing recorded is missed.
      expect(await mine.processedFrom({ topic, partition: 1 }, [a!, b!])).toEqual({ processed: new Set([b]), watermark: b });
      await mine.complete([a!].map(fromPartition(1)));
      expect(await mine.processedFrom({ topic, partition: 1 }, [a!, b!])).toEqual({ processed: new Set([a, b]), watermark: b });
    });

    it('raises every watermark of the group past an id of unknown origin, and none of another group', async () => {
      const { store: mine } = store();
      const { store: theirs } = store();
      const [a, b, c] = ids(3);
      await mine.complete([a!].map(fromPartition(0)));
      await theirs.complete([a!].map(fromPartition(0)));
      await mine.complete([{ eventId: b!, effects: undefined }]);
      expect(await mine.processedFrom({ topic, partition: 0 }, [b!, c!])).toEqual({ processed: new Set([b]), watermark: b });
      expect(await theirs.processedFrom({ topic, partition: 0 }, [b!])).toEqual({ processed: new Set(), watermark: a });
    });

    it('raises the watermark in the transaction with the effects, and not when they fail', async () => {
      const { groupId, store: mine } = store();
      const [a, b] = ids(2);
      await mine.complete([{ ...fromPartition(0)(a!), effects: async (tx) => void (await tx.videoReceipt.create({ data: { consumerGroup: `${groupId}|test`, videoId: randomUUID(), eventId: a! } })) }]);
      await expect(mine.complete([{ ...fromPartition(0)(b!), effects: async () => Promise.reject(new Error('effects broke')) }])).rejects.toThrow('effects broke');
      expect(await mine.processedFrom({ topic, partition: 0 }, [a!, b!])).toEqual({ processed: new Set([a]), watermark: a });
    });

    it('probes only for ids at or below the watermark', async () => {
      const { groupId, store: mine } = store();
      const recorded = ids(50);
      await mine.complete(recorded.map(fromPartition(0)));
      const lookedUp = [...recorded.slice(40), ...ids(90)];
      const [explained] = await prisma.$queryRawUnsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${processedFromSql}`,
        groupId,
        lookedUp.join(','),
        topic,
        0,
      );
      // The forward scans are the probes; the backward one finds the group's highest id.
      const probes = planNodes(explained!['QUERY PLAN'][0].Plan).filter((node) => node['Relation Name'] === 'processed_events' && node['Scan Direction'] === 'Forward');
      const loops = probes.reduce((sum, node) => sum + node['Actual Loops'], 0);
      expect(loops).toBe(10); // the 10 recorded ones; the 90 newer ids are never probed
    });

    it('tells which ids of a partition may have been processed, from its watermark', () => {
      const [low, mark, high] = ids(3);
      expect([low, mark, high].map((id) => mayHaveBeenProcessed(id!, mark!))).toEqual([true, true, false]);
      expect(mayHaveBeenProcessed(low!.toUpperCase(), mark!)).toBe(true);
      expect(mayHaveBeenProcessed(low!, null)).toBe(false); // the group has processed nothing
    });
  });

  it('looks up each id with one probe of the primary key, however many ids the group has recorded since the last ANALYZE', async () => {
    const { groupId, store: mine } = store();
    // Statistics that do not know the group yet, as for a new group draining a backlog.
    await prisma.$executeRawUnsafe('ANALYZE processed_events');
    const recorded: string[] = [];
    for (let chunk = 0; chunk < 20; chunk++) {
      const ids = Array.from({ length: 1_000 }, () => randomUUID());
      await mine.complete(ids.map((eventId) => ({ eventId })));
      recorded.push(...ids.slice(0, 5));
    }
    const lookedUp = [...recorded.slice(0, 10), ...Array.from({ length: 90 }, () => randomUUID())];

    expect(await mine.processed(lookedUp)).toEqual(new Set(recorded.slice(0, 10)));
    const [explained] = await prisma.$queryRawUnsafe<Array<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${processedSql}`,
      groupId,
      lookedUp.join(','),
    );
    const scans = planNodes(explained!['QUERY PLAN'][0].Plan).filter((node) => node['Relation Name'] === 'processed_events');
    expect(scans.length).toBeGreaterThan(0);
    const rowsTouched = scans.reduce((sum, node) => sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'], 0);
    expect(rowsTouched).toBeLessThanOrEqual(lookedUp.length); // the other 20 000 rows of the group are never read
  });
});

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Scan Direction'?: string;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

describe('IdempotencyStore.prune', () => {
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = createPrismaClient({ databaseUrl: testConfig('prune.').database.url, poolMax: 2 });
  });
  afterAll(() => prisma.$disconnect());

  const DAY_MS = 24 * 60 * 60 * 1000;

  it('deletes, a batch at a time, the records of time-ordered ids made before the moment, and nothing else', async () => {
    const groupId = uniquePrefix('prune') + 'group';
    const otherGroupId = uniquePrefix('prune') + 'other';
    const now = Date.now();
    const old = Array.from({ length: 25 }, (_, index) => eventIdMadeAt(now - 40 * DAY_MS + index));
    const young = Array.from({ length: 3 }, () => eventIdMadeAt(now - DAY_MS));
    // Ids that do not tell their age, one of them below every time-ordered id: kept.
    const ageless = [randomUUID(), '00000000-0000-4000-8000-000000000001'];
    await prisma.processedEvent.createMany({
      data: [...[...old, ...young, ...ageless].map((eventId) => ({ consumerGroup: groupId, eventId })), ...old.map((eventId) => ({ consumerGroup: otherGroupId, eventId }))],
    });

    const progress: number[] = [];
    const deleted = await new IdempotencyStore(prisma, groupId).prune(new Date(now - 30 * DAY_MS), { batchSize: 10, onProgress: (soFar) => progress.push(soFar) });

    expect(deleted).toBe(old.length);
    expect(progress).toEqual([10, 20, 25]);
    const left = await prisma.processedEvent.findMany({ where: { consumerGroup: groupId }, select: { eventId: true } });
    expect(left.map((row) => row.eventId).sort()).toEqual([...young, ...ageless].sort());
    expect(await prisma.processedEvent.count({ where: { consumerGroup: otherGroupId } })).toBe(old.length);
    expect(await new IdempotencyStore(prisma, groupId).prune(new Date(now - 30 * DAY_MS))).toBe(0);
  });
});
