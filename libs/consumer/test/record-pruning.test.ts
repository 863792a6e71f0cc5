import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import type { Clock } from '@video-pipeline/retry';
import { ConsumerMetrics, ProcessedEvents, RecordPruner, defaultRecordsKeptDays, recordsNeededDays } from '../src';
import { eventually } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { capturingLogger, counterValue } from './support/harness';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('pruning idempotency records', () => {
  let prisma: PrismaClient;
  const pruners: RecordPruner[] = [];
  beforeAll(() => {
    prisma = createPrismaClient({ databaseUrl: testConfig('prune.').database.url, poolMax: 2 });
  });
  afterEach(() => Promise.all(pruners.splice(0).map((pruner) => pruner.stop())));
  afterAll(() => prisma.$disconnect());

  /** A fresh group's records, and a way to add records of events processed `daysAgo`. */
  const groupRecords = () => {
    const groupId = uniquePrefix('prune') + 'analytics';
    const store = new ProcessedEvents(prisma, groupId);
    const record = async (...daysAgo: number[]) => {
      const ids = daysAgo.map(() => randomUUID());
      await prisma.processedEvent.createMany({ data: ids.map((eventId, index) => ({ consumerGroup: groupId, eventId, processedAt: new Date(Date.now() - daysAgo[index]! * DAY_MS) })) });
      return ids;
    };
    const left = async () => (await prisma.processedEvent.findMany({ where: { consumerGroup: groupId }, select: { eventId: true } })).map((row) => row.eventId).sort();
    return { groupId, store, record, left };
  };

  const startPruner = (options: Omit<ConstructorParameters<typeof RecordPruner>[0], 'group' | 'logger' | 'metrics'>) => {
    const { logger, logged } = capturingLogger('info');
    const metrics = new ConsumerMetrics();
    const pruner = new RecordPruner({ group: 'analytics', logger, metrics, ...options });
    pruners.push(pruner);
    pruner.start();
    return { pruner, logged, metrics };
  };

  it('keeps records as long as a replay can bring an event back, plus a margin', () => {
    // analytics.dlq keeps dead letters 30 days, the longest of the topics that bring events to the group.
    expect(recordsNeededDays('analytics')).toBe(30);
    expect(defaultRecordsKeptDays('analytics')).toBe(35);
  });

  it('prunes what is older than that at its first run and on schedule, keeps the rest, and stops when told', async () => {
    const { groupId, store, record, left } = groupRecords();
    await record(40, 36);
    const kept = await record(34, 1);
    const startedAt = Date.now();
    const { pruner, logged, metrics } = startPruner({ store, everyMs: 300, firstInMs: 0 });

    await eventually(async () => logged('pruned idempotency records').length >= 1, 10_000, 'the first pruning');
    expect(logged('pruned idempotency records')[0]).toMatchObject({ deleted: 2 });
    expect(await left()).toEqual([...kept].sort());
    expect(await counterValue(metrics.recordsPruned, { group: groupId })).toBe(2);
    const [lastPrune] = (await metrics.lastPrune.get()).values;
    expect(lastPrune).toMatchObject({ labels: { group: groupId } });
    expect(lastPrune!.value * 1000).toBeGreaterThanOrEqual(startedAt);

    await record(50); // aged past the limit since the last run, say
    await eventually(async () => (await left()).length === kept.length, 10_000, 'the next pruning');
    await eventually(async () => (await counterValue(metrics.recordsPruned, { group: groupId })) === 3, 5_000, 'the count to include it');

    await pruner.stop();
    await record(60);
    const runs = logged('pruned idempotency records').length;
    await new Promise((resolve) => setTimeout(resolve, 700)); // two periods
    expect(logged('pruned idempotency records')).toHaveLength(runs);
    expect(await left()).toHaveLength(kept.length + 1);
  });

  it('judges age by its clock', async () => {
    const { store, record, left } = groupRecords();
    const kept = await record(1);
    await record(10);
    // Thirty days on, a record made ten days ago is forty days old.
    const later: Clock = { now: () => Date.now() + 30 * DAY_MS, sleep: async () => undefined };
    const { logged } = startPruner({ store, everyMs: 60_000, firstInMs: 0, clock: later });
    await eventually(async () => logged('pruned idempotency records').length === 1, 10_000, 'the pruning');
    expect(logged('pruned idempotency records')[0]).toMatchObject({ deleted: 1 });
    expect(await left()).toEqual(kept);
  });

  it('logs a failed pruning and tries again next time', async () => {
    const unreachable = createPrismaClient({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/none', poolMax: 1 });
    try {
      const { logged, metrics } = startPruner({ store: new ProcessedEvents(unreachable, uniquePrefix('prune') + 'analytics'), everyMs: 200, firstInMs: 0 });
      await eventually(async () => logged('could not prune idempotency records; trying again next time').length >= 2, 10_000, 'two failed prunings');
      expect(logged('could not prune idempotency records; trying again next time')[0]!.err?.message).toBeTruthy();
      // The age of the last pruning is what an alert watches: a failed one leaves it unset.
      expect((await metrics.lastPrune.get()).values).toEqual([]);
    } finally {
      await Promise.all(pruners.splice(0).map((pruner) => pruner.stop()));
      await unreachable.$disconnect();
    }
  });
});
