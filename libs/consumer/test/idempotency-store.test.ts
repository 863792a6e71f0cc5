import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { IdempotencyStore } from '../src';
import { processedSql, type Effects } from '../src/idempotency';
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
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}
