import { inTransaction } from '@video-pipeline/db';
import { createWorkerPrismaClient, type EventHandlers } from '../src';
import { eventually } from '../../../test/support/pipeline';
import { testConfig } from '../../../test/support/test-env';
import { appliedEffects, capturingLogger, countedEffects, counterValue, processedEventIds, useTestbeds, otherEventsIgnored, videoUploaded, type ConsumerTestbed } from './support/harness';

const COMMIT_TIMEOUT_MS = 500;

/**
 * Another transaction holds a lock every commit needs (here: it keeps the
 * idempotency records' table from being written) until `release()`.
 */
async function holdRecordsTable(bed: ConsumerTestbed): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  let locked!: () => void;
  const hasLock = new Promise<void>((resolve) => (locked = resolve));
  const holding = inTransaction(bed.prisma, async (run) => {
    await run('LOCK TABLE processed_event_sets IN EXCLUSIVE MODE', []);
    locked();
    await new Promise<void>((resolve) => (release = resolve));
  });
  await hasLock;
  return {
    release: async () => {
      release();
      await holding;
    },
  };
}

describe('a commit waiting for a lock that another transaction holds', () => {
  const testbed = useTestbeds();

  /**
   * Five events of different videos, handled and committed as one batch
   * while the lock is held: the batch's commit and the first event's alone
   * each wait commitTimeoutMs; the other four fail with them instead of
   * waiting in turn. Once the lock is gone, their retries commit.
   */
  async function blockedBatch(name: string, handlers: (calls: Map<string, number>) => EventHandlers) {
    const bed = await testbed(name);
    const events = Array.from({ length: 5 }, () => videoUploaded());
    const calls = new Map<string, number>();
    const prisma = createWorkerPrismaClient({ databaseUrl: testConfig(bed.prefix).database.url, commitTimeoutMs: COMMIT_TIMEOUT_MS, poolMax: 4 });
    const { logger, logged } = capturingLogger();
    const lock = await holdRecordsTable(bed);
    try {
      const runtime = await bed.runtime({ handlers: handlers(calls), prisma, logger, commitTimeoutMs: COMMIT_TIMEOUT_MS, maxCommitDelayMs: 10_000 });
      await bed.publish(events);
      await eventually(async () => (await counterValue(runtime.metrics.failed, { code: 'commit_timeout' })) === events.length, 20_000, 'every commit to time out');
      await lock.release();
      await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === events.length, 20_000, 'the retries to commit');
      await runtime.stop();

      expect(Object.fromEntries(calls)).toEqual(Object.fromEntries(events.map((event) => [event.id, 2])));
      expect(await counterValue(runtime.metrics.failed)).toBe(events.length);
      expect(await counterValue(runtime.metrics.retried, { tier: '1' })).toBe(events.length);
      expect(await counterValue(runtime.metrics.processed)).toBe(events.length);
      expect(await bed.recordCount(bed.deadLetterTopic)).toBe(0);
      expect(logged('commit failed; committing its events one at a time')).toHaveLength(1);
      expect(logged('an event failed to commit alone, not in its effects; failing the rest of the batch with it')).toEqual([expect.objectContaining({ events: events.length })]);
      const failures = logged('effects failed');
      expect(failures).toHaveLength(events.length);
      for (const failure of failures) expect(failure.err).toMatchObject({ code: 'commit_timeout', message: expect.stringMatching(/^the commit of an event waited longer than lock_timeout for a lock another transaction holds/) });
      return { bed, events };
    } finally {
      await lock.release();
      await prisma.$disconnect();
    }
  }

  it('fails at lock_timeout with commit_timeout when the events have effects, and the batch does not wait once per event', async () => {
    const { bed, events } = await blockedBatch('lock-effects', (calls) => ({
      ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
        calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
        return countedEffects(event, context.groupId);
      },
    }));
    for (const event of events) expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
  });

  it('does the same on the hot path, for events without effects', async () => {
    await blockedBatch('lock-no-effects', (calls) => ({
      ...otherEventsIgnored, 'video.uploaded': async (event) => {
        calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
      },
    }));
  });
});
