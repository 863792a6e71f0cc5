import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { ProcessedEvents, type Effects } from '../src';
import { EffectsFailed } from '../src/processed-events';
import { eventually } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { appliedEffects } from './support/effects';
import { processedEventIds } from './support/harness';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The store on the real database, where the runtime's tests cannot easily stage a race. */
describe('ProcessedEvents', () => {
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = createPrismaClient({ databaseUrl: testConfig('store.').database.url, poolMax: 4 });
  });
  afterAll(() => prisma.$disconnect());

  const freshGroup = () => {
    const groupId = uniquePrefix('store') + 'group';
    return { groupId, records: new ProcessedEvents(prisma, groupId) };
  };
  /** Effects that add a receipt per application, so applying twice shows as two rows. */
  const receiptOf =
    (groupId: string, eventId: string, then?: () => Promise<void>): Effects =>
    async (tx) => {
      await tx.videoReceipt.create({ data: { consumerGroup: `${groupId}|test|${randomUUID()}`, videoId: randomUUID(), eventId } });
      await then?.();
    };

  it('records new ids and then reports them processed, for its own group only', async () => {
    const { records: mine } = freshGroup();
    const { records: theirs } = freshGroup();
    const ids = [randomUUID(), randomUUID()];
    expect(await mine.commit(ids.map((eventId) => ({ eventId })))).toEqual(new Set(ids));
    expect(await mine.processedOf([...ids, randomUUID()])).toEqual(new Set(ids));
    expect(await theirs.processedOf(ids)).toEqual(new Set());
    expect(await theirs.commit(ids.map((eventId) => ({ eventId })))).toEqual(new Set(ids));
  });

  it('reports as new only the ids no commit recorded before, and takes ids in either case', async () => {
    const { groupId, records: mine } = freshGroup();
    const other = new ProcessedEvents(prisma, groupId); // another instance of the group
    const raced = randomUUID();
    const fresh = [randomUUID(), randomUUID()];
    await other.commit([{ eventId: raced.toUpperCase() }]);

    expect(await mine.commit([{ eventId: fresh[0]! }, { eventId: raced }, { eventId: fresh[1]!.toUpperCase() }])).toEqual(new Set(fresh));
    expect(await mine.processedOf([raced, ...fresh])).toEqual(new Set([raced, ...fresh]));
    expect((await processedEventIds(prisma, groupId)).sort()).toEqual([raced, ...fresh].sort());
  });

  it('applies effects once per new id, in the transaction that records it, even when an id comes twice', async () => {
    const { groupId, records: mine } = freshGroup();
    const [a, b] = [randomUUID(), randomUUID()];
    await mine.commit([{ eventId: a, effects: receiptOf(groupId, a) }]);
    expect(await mine.commit([{ eventId: a, effects: receiptOf(groupId, a) }, { eventId: b, effects: receiptOf(groupId, b) }, { eventId: b, effects: receiptOf(groupId, b) }])).toEqual(new Set([b]));
    expect((await appliedEffects(prisma, groupId)).map((row) => row.eventId).sort()).toEqual([a, b].sort());
  });

  it('records nothing when effects fail, and names the event whose effects did', async () => {
    const { groupId, records: mine } = freshGroup();
    const [fine, broken] = [randomUUID(), randomUUID()];
    const failure = new Error('effects broke');
    const committing = mine.commit([
      { eventId: fine, effects: receiptOf(groupId, fine) },
      { eventId: broken, effects: async () => Promise.reject(failure) },
    ]);
    await expect(committing).rejects.toBeInstanceOf(EffectsFailed);
    await expect(committing).rejects.toMatchObject({ eventId: broken, cause: failure });
    expect(await mine.processedOf([fine, broken])).toEqual(new Set());
    expect(await appliedEffects(prisma, groupId)).toEqual([]);
  });

  describe('two commits of one event id at once (two instances of a group in a race)', () => {
    /** Whether a session of this database waits for a lock on processed_events: the second commit, behind the first. */
    const aCommitWaitsForALock = async () => {
      const [row] = await prisma.$queryRaw<{ waiting: number }[]>`
        SELECT count(*)::int AS waiting FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO processed_events%'`;
      return row!.waiting > 0;
    };

    /** Starts a commit of `eventId` whose effects hold the transaction open until `release` settles. */
    function heldCommit(records: ProcessedEvents, groupId: string, eventId: string) {
      let entered!: () => void;
      let release!: (outcome: 'commit' | 'roll back') => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const released = new Promise<'commit' | 'roll back'>((resolve) => (release = resolve));
      const committing = records.commit([
        {
          eventId,
          effects: receiptOf(groupId, eventId, async () => {
            entered();
            if ((await released) === 'roll back') throw new Error('the first instance failed');
          }),
        },
      ]);
      committing.catch(() => undefined);
      return { inside, release, committing };
    }

    it('lets the second wait for the first, then apply nothing', async () => {
      const { groupId, records: first } = freshGroup();
      const second = new ProcessedEvents(prisma, groupId);
      const eventId = randomUUID();
      const held = heldCommit(first, groupId, eventId);
      await held.inside; // the first has inserted the id and applies its effects

      let secondEffects = 0;
      const racing = second.commit([{ eventId, effects: async () => void (secondEffects += 1) }]);
      await eventually(aCommitWaitsForALock, 10_000, 'the second commit to wait for the first');
      held.release('commit');

      expect(await held.committing).toEqual(new Set([eventId]));
      expect(await racing).toEqual(new Set());
      expect(secondEffects).toBe(0);
      expect(await appliedEffects(prisma, groupId, eventId)).toHaveLength(1);
      expect(await processedEventIds(prisma, groupId)).toEqual([eventId]);
    });

    it('lets the second apply its effects when the first rolls back', async () => {
      const { groupId, records: first } = freshGroup();
      const second = new ProcessedEvents(prisma, groupId);
      const eventId = randomUUID();
      const held = heldCommit(first, groupId, eventId);
      await held.inside;

      const racing = second.commit([{ eventId, effects: receiptOf(groupId, eventId) }]);
      await eventually(aCommitWaitsForALock, 10_000, 'the second commit to wait for the first');
      held.release('roll back');

      await expect(held.committing).rejects.toBeInstanceOf(EffectsFailed);
      expect(await racing).toEqual(new Set([eventId]));
      expect(await appliedEffects(prisma, groupId, eventId)).toHaveLength(1);
    });
  });

  describe('prune', () => {
    const processedDaysAgo = async (groupId: string, ...days: number[]) => {
      const ids = days.map(() => randomUUID());
      await prisma.processedEvent.createMany({ data: ids.map((eventId, index) => ({ consumerGroup: groupId, eventId, processedAt: new Date(Date.now() - days[index]! * DAY_MS) })) });
      return ids;
    };

    it('deletes, a batch at a time, the records of events processed before the moment, and nothing else', async () => {
      const { groupId, records: mine } = freshGroup();
      const { groupId: otherGroupId } = freshGroup();
      const old = await processedDaysAgo(groupId, ...Array.from({ length: 25 }, () => 40));
      const young = await processedDaysAgo(groupId, 1, 29);
      const others = await processedDaysAgo(otherGroupId, 40, 40);

      const progress: number[] = [];
      const deleted = await mine.prune(new Date(Date.now() - 30 * DAY_MS), { batchSize: 10, onProgress: (soFar) => progress.push(soFar) });

      expect(deleted).toBe(old.length);
      expect(progress).toEqual([10, 20, 25]);
      expect((await processedEventIds(prisma, groupId)).sort()).toEqual([...young].sort());
      expect((await processedEventIds(prisma, otherGroupId)).sort()).toEqual([...others].sort());
      expect(await mine.prune(new Date(Date.now() - 30 * DAY_MS))).toBe(0);
    });

    it('stops between its statements when told', async () => {
      const { groupId, records: mine } = freshGroup();
      await processedDaysAgo(groupId, 40, 39, 38);
      const stopping = new AbortController();
      const deleted = await mine.prune(new Date(Date.now() - 35 * DAY_MS), { batchSize: 1, signal: stopping.signal, onProgress: () => stopping.abort() });
      expect(deleted).toBe(1);
      expect(await processedEventIds(prisma, groupId)).toHaveLength(2);
    });
  });
});
