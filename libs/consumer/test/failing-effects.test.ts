import { setTimeout as sleep } from 'node:timers/promises';
import { createPrismaClient } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { createWorkerPrismaClient, type EventHandlers } from '../src';
import { eventually } from '../../../test/support/pipeline';
import { testConfig } from '../../../test/support/test-env';
import { appliedEffects, capturingLogger, countedEffects, counterValue, processedEventIds, useTestbeds, otherEventsIgnored, videoUploaded } from './support/harness';

/** Handlers whose effects throw `failure()` for one event while it returns an error, and count calls per event. */
function handlersWithFailingEffects(failingEventId: string, failure: () => Error | undefined) {
  const calls = new Map<string, number>();
  const handlers: EventHandlers = {
    ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
      calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
      const counted = countedEffects(event, context.groupId);
      return async (tx) => {
        const error = event.id === failingEventId ? failure() : undefined;
        if (error) throw error;
        await counted(tx);
      };
    },
  };
  return { handlers, calls };
}

describe('effects that fail count as a failed attempt of their event alone', () => {
  const testbed = useTestbeds();

  it('parks an event whose effects fail for good, and commits the events around it', async () => {
    const bed = await testbed('effects-permanent');
    const [before, doomed, after] = [videoUploaded(), videoUploaded(), videoUploaded()];
    const { handlers, calls } = handlersWithFailingEffects(doomed.id, () => new PipelineError('processing_failed', 'the video row is gone'));
    const runtime = await bed.runtime({ handlers, maxCommitDelayMs: 10_000 });

    await bed.publish([before, doomed, after]); // different keys: one micro-batch, one transaction
    await eventually(async () => (await bed.recordCount(bed.deadLetterTopic)) === 1, 15_000, 'the event to be parked');
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 3, 10_000, 'the partition to move past it');
    await runtime.stop();

    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual([before.id, after.id].sort());
    expect((await appliedEffects(bed.prisma, bed.groupId)).map((effect) => effect.eventId).sort()).toEqual([before.id, after.id].sort());
    expect(Object.fromEntries(calls)).toEqual({ [before.id]: 1, [doomed.id]: 1, [after.id]: 1 });
    expect(await counterValue(runtime.metrics.deadLettered, { code: 'processing_failed' })).toBe(1);
    expect(await counterValue(runtime.metrics.failed, { code: 'processing_failed' })).toBe(1);
    expect(await counterValue(runtime.metrics.processed)).toBe(2);
  });

  it('retries an event whose effects fail for a while, without running its neighbours again', async () => {
    const bed = await testbed('effects-transient');
    const [flaky, after] = [videoUploaded(), videoUploaded()];
    let failuresLeft = 1;
    const { handlers, calls } = handlersWithFailingEffects(flaky.id, () => (failuresLeft-- > 0 ? new Error('deadlock detected') : undefined));
    const runtime = await bed.runtime({ handlers, maxCommitDelayMs: 10_000 }); // the two share one transaction, however slow the machine

    await bed.publish([flaky, after]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, flaky.id)).length === 1, 15_000, 'the flaky event to be committed');
    await runtime.stop();

    expect(await appliedEffects(bed.prisma, bed.groupId, after.id)).toHaveLength(1);
    expect(Object.fromEntries(calls)).toEqual({ [flaky.id]: 2, [after.id]: 1 });
    expect(await counterValue(runtime.metrics.retried, { tier: '1' })).toBe(1);
    expect(await counterValue(runtime.metrics.failed, { code: 'internal' })).toBe(1);
  });

  it('parks at once an event whose effects break a database constraint, without spending the retry tiers', async () => {
    const bed = await testbed('effects-constraint');
    const [before, doomed, after] = [videoUploaded(), videoUploaded(), videoUploaded()];
    const handlers: EventHandlers = {
      ...otherEventsIgnored, 'video.uploaded': async (event, context) => async (tx) => {
        const receipt = { consumerGroup: `${context.groupId}|constraint`, videoId: event.data.videoId, eventId: event.id };
        await tx.videoReceipt.create({ data: receipt });
        if (event.id === doomed.id) await tx.videoReceipt.create({ data: receipt }); // the same key again: a unique violation, every time
      },
    };
    const runtime = await bed.runtime({ handlers, maxCommitDelayMs: 10_000 });

    await bed.publish([before, doomed, after]);
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 3, 15_000, 'the partition to move past it');
    await runtime.stop();

    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual([before.id, after.id].sort());
    expect(await bed.recordCount(bed.deadLetterTopic)).toBe(1);
    expect(await counterValue(runtime.metrics.deadLettered, { code: 'database_rejected' })).toBe(1);
    expect(await counterValue(runtime.metrics.failed, { code: 'database_rejected' })).toBe(1);
    expect(await counterValue(runtime.metrics.retried)).toBe(0);
  });
});

describe('the time a commit with effects may take', () => {
  const testbed = useTestbeds();

  /** Handlers whose effects for `slowEventId` wait `delayMs` between two statements. */
  function handlersWithSlowEffects(slowEventId: string, delayMs: number) {
    const handlers: EventHandlers = {
      ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
        const counted = countedEffects(event, context.groupId);
        return async (tx) => {
          await counted(tx);
          if (event.id === slowEventId) await sleep(delayMs);
          await tx.$queryRaw`SELECT 1`;
        };
      },
    };
    return handlers;
  }

  it('commits effects that outlast Prisma’s default transaction timeout (5 s)', async () => {
    const bed = await testbed('effects-slow');
    const slow = videoUploaded();
    const runtime = await bed.runtime({ handlers: handlersWithSlowEffects(slow.id, 5_500) });

    await bed.publish([slow]);
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 1, 20_000, 'the slow commit to land');
    await runtime.stop();

    expect(await appliedEffects(bed.prisma, bed.groupId, slow.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.failed)).toBe(0);
    expect(await counterValue(runtime.metrics.processed)).toBe(1);
  });

  it('fails an attempt whose commit cannot start within commitTimeoutMs with commit_timeout, keeping Prisma’s reason, and commits the retry once', async () => {
    const bed = await testbed('effects-timeout');
    const blocked = videoUploaded();
    // A pool of one connection, which the handler's first attempt keeps busy until the commit has timed out.
    const prisma = createPrismaClient({ databaseUrl: testConfig(bed.prefix).database.url, poolMax: 1 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding: Promise<unknown> | undefined;
    const handlers: EventHandlers = {
      ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
        holding ??= prisma.$transaction(async (tx) => {
          await tx.$queryRaw`SELECT 1`;
          await released;
        }, { timeout: 30_000 });
        return countedEffects(event, context.groupId);
      },
    };
    const { logger, logged } = capturingLogger();
    const runtime = await bed.runtime({ handlers, prisma, commitTimeoutMs: 500, logger });
    try {
      await bed.publish([blocked]);
      await eventually(async () => (await counterValue(runtime.metrics.failed, { code: 'commit_timeout' })) === 1, 20_000, 'the blocked commit to time out');
      release();
      await holding;
      await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, blocked.id)).length === 1, 20_000, 'the retried event to be committed');
    } finally {
      release();
      await runtime.stop();
      await prisma.$disconnect();
    }

    expect(await counterValue(runtime.metrics.failed, { code: 'commit_timeout' })).toBe(1);
    expect(await counterValue(runtime.metrics.retried, { tier: '1' })).toBe(1);
    expect(await counterValue(runtime.metrics.processed)).toBe(1);
    expect(await bed.recordCount(bed.deadLetterTopic)).toBe(0);
    const [failure] = logged('effects failed');
    expect(failure?.err).toMatchObject({ code: 'commit_timeout', message: expect.stringMatching(/^the commit did not finish within 500 ms \(commitTimeoutMs\): Transaction API error: /) });
  });

  it('fails an attempt whose effects never settle with commit_timeout, and commits the retry once', async () => {
    const bed = await testbed('effects-hung');
    const [hung, after] = [videoUploaded(), videoUploaded()];
    let hangsLeft = 1;
    const handlers: EventHandlers = {
      ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
        const counted = countedEffects(event, context.groupId);
        return async (tx) => {
          await counted(tx);
          if (event.id === hung.id && hangsLeft-- > 0) await new Promise(() => undefined);
        };
      },
    };
    const { logger, logged } = capturingLogger();
    const runtime = await bed.runtime({ handlers, commitTimeoutMs: 500, maxCommitDelayMs: 10_000, logger }); // one transaction for both

    await bed.publish([hung, after]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, hung.id)).length === 1, 20_000, 'the retried event to be committed');
    await runtime.stop();

    expect(await appliedEffects(bed.prisma, bed.groupId, after.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.failed, { code: 'commit_timeout' })).toBe(1);
    expect(await counterValue(runtime.metrics.retried, { tier: '1' })).toBe(1);
    expect(await counterValue(runtime.metrics.processed)).toBe(2);
    const [failure] = logged('effects failed');
    expect(failure?.err).toMatchObject({ code: 'commit_timeout', message: 'the commit did not finish within 500 ms (commitTimeoutMs): the effects were still running' });
  });

  it('fails the events of a commit that waits longer than lock_timeout for a lock held elsewhere with commit_timeout, and commits their retries once', async () => {
    const bed = await testbed('effects-lock');
    const events = [videoUploaded(), videoUploaded(), videoUploaded()];
    const calls = new Map<string, number>();
    const handlers: EventHandlers = {
      ...otherEventsIgnored,
      'video.uploaded': async (event, context) => {
        calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
        return countedEffects(event, context.groupId);
      },
    };
    // A worker's client: no statement waits longer than commitTimeoutMs for a lock.
    const prisma = createWorkerPrismaClient({ databaseUrl: testConfig(bed.prefix).database.url, commitTimeoutMs: 500, poolMax: 4 });
    const { logger, logged } = capturingLogger();
    // Another transaction keeps the idempotency records from being written until released.
    let release!: () => void;
    let locked!: () => void;
    const hasLock = new Promise<void>((resolve) => (locked = resolve));
    const holding = bed.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`LOCK TABLE processed_events IN EXCLUSIVE MODE`;
        locked();
        await new Promise<void>((resolve) => (release = resolve));
      },
      { timeout: 60_000 },
    );
    await hasLock;
    try {
      const runtime = await bed.runtime({ handlers, prisma, logger, commitTimeoutMs: 500, maxCommitDelayMs: 10_000 });
      await bed.publish(events);
      await eventually(async () => (await counterValue(runtime.metrics.failed, { code: 'commit_timeout' })) === events.length, 20_000, 'the commit to time out');
      release();
      await holding;
      await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === events.length, 20_000, 'the retries to commit');
      await runtime.stop();

      expect(Object.fromEntries(calls)).toEqual(Object.fromEntries(events.map((event) => [event.id, 2])));
      for (const event of events) expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
      expect(await counterValue(runtime.metrics.retried, { tier: '1' })).toBe(events.length);
      expect(await counterValue(runtime.metrics.processed)).toBe(events.length);
      expect(await bed.recordCount(bed.deadLetterTopic)).toBe(0);
      for (const failure of logged('effects failed')) expect(failure.err).toMatchObject({ code: 'commit_timeout', message: expect.stringMatching(/lock_timeout/) });
    } finally {
      release();
      await holding.catch(() => undefined);
      await prisma.$disconnect();
    }
  });
});
