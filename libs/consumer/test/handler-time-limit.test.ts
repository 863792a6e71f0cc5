import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../../test/support/pipeline';
import type { EventHandlers } from '../src';
import { appliedEffects, capturingLogger, countedEffects, counterValue, fastRetryPolicy, useTestbeds, otherEventsIgnored, videoUploaded } from './support/harness';

const LIMIT_MS = 1_000;

/** An attempt, timed on both clocks as `HandlerCall` (support/harness) says why. */
interface Attempt {
  eventId: string;
  attempt: number;
  startedAt: number;
  startedAtMonotonic: number;
  /** When its signal was aborted, and the reason's name. */
  aborted?: { at: number; atMonotonic: number; reason?: string };
}

/**
 * Handlers whose first attempt at `hungEventId` ignores its signal and runs
 * `hangMs` (forever if not given) before returning effects marked 'abandoned';
 * every other attempt returns effects at once.
 */
function handlersWithHungAttempt(hungEventId: string, hangMs?: number) {
  const attempts: Attempt[] = [];
  const handlers: EventHandlers = {
    ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
      const attempt: Attempt = { eventId: event.id, attempt: context.attempt, startedAt: Date.now(), startedAtMonotonic: performance.now() };
      attempts.push(attempt);
      const { signal } = context;
      signal.addEventListener('abort', () => {
        attempt.aborted = { at: Date.now(), atMonotonic: performance.now(), reason: (signal.reason as Error | undefined)?.name };
      });
      if (event.id !== hungEventId || context.attempt > 1) return countedEffects(event, context.groupId, 'retry');
      await (hangMs === undefined ? new Promise(() => undefined) : sleep(hangMs));
      return countedEffects(event, context.groupId, 'abandoned');
    },
  };
  return { handlers, attempts };
}

describe('a handler attempt that runs past handlerTimeoutMs', () => {
  const testbed = useTestbeds();

  it('is abandoned at the limit with its signal aborted, and its partition goes on at once', async () => {
    const bed = await testbed('handler-hung'); // one partition: the two events share it
    const [hung, behind] = [videoUploaded(), videoUploaded()];
    const { handlers, attempts } = handlersWithHungAttempt(hung.id);
    // Three attempts in place would hold the partition for three limits: a timed-out attempt skips them.
    const runtime = await bed.runtime({ handlers, handlerTimeoutMs: LIMIT_MS, retryPolicy: { ...fastRetryPolicy, attemptsPerDelivery: 3 } });

    await bed.publish([hung, behind]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, hung.id)).length === 1, 20_000, 'the retried event to be committed');
    await runtime.stop();

    const [first, retry, ...more] = attempts.filter((attempt) => attempt.eventId === hung.id);
    expect(more).toHaveLength(0);
    expect(first!.aborted?.reason).toBe('TimeoutError');
    // Timed by the runtime from the attempt's start: the handler's own first line may run some ms later on a busy machine.
    const durations = (await runtime.metrics.handlerDuration.get()).values.filter((value) => value.labels.outcome === 'failure');
    expect(durations.find((value) => value.metricName === 'pipeline_handler_duration_seconds_count')?.value).toBe(1);
    expect(durations.find((value) => value.metricName === 'pipeline_handler_duration_seconds_sum')?.value).toBeGreaterThanOrEqual((LIMIT_MS - 1) / 1000); // Node's timers keep whole milliseconds
    expect(retry!.attempt).toBe(2);
    expect(retry!.startedAt - first!.aborted!.at).toBeGreaterThanOrEqual(fastRetryPolicy.tierDelaysMs[0]!);
    expect(retry!.aborted).toBeUndefined();

    // The event behind ran once the first was abandoned, before its retry.
    const [behindAttempt] = attempts.filter((attempt) => attempt.eventId === behind.id);
    expect(behindAttempt!.startedAtMonotonic).toBeGreaterThanOrEqual(first!.aborted!.atMonotonic);
    expect(behindAttempt!.startedAtMonotonic).toBeLessThan(retry!.startedAtMonotonic);

    expect(await appliedEffects(bed.prisma, bed.groupId, behind.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.failed, { code: 'handler_timeout' })).toBe(1);
    expect(await counterValue(runtime.metrics.retried, { tier: '1' })).toBe(1);
    expect(await counterValue(runtime.metrics.processed)).toBe(2);
    expect(await bed.recordCount(bed.deadLetterTopic)).toBe(0);
  });

  it('drops what an abandoned attempt returns when it settles late, and says so', async () => {
    const bed = await testbed('handler-late');
    const late = videoUploaded();
    const hangMs = 3 * LIMIT_MS;
    const { handlers, attempts } = handlersWithHungAttempt(late.id, hangMs);
    const { logger, logged } = capturingLogger();
    const runtime = await bed.runtime({ handlers, handlerTimeoutMs: LIMIT_MS, logger });

    await bed.publish([late]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, late.id)).length === 1, 20_000, 'the retried event to be committed');
    const settledLate = await eventually(async () => logged('abandoned handler attempt settled late; its result is dropped')[0], 10_000, 'the late settle to be logged');
    await sleep(500); // room for anything the late result might wrongly have set off
    await runtime.stop();

    expect(settledLate).toMatchObject({ eventId: late.id, attempt: 1 });
    expect(settledLate.durationMs as number).toBeGreaterThanOrEqual(hangMs - 5);
    expect(await appliedEffects(bed.prisma, bed.groupId, late.id)).toEqual([{ appliedBy: 'retry', eventId: late.id }]);
    expect(attempts.filter((attempt) => attempt.eventId === late.id).map((attempt) => attempt.attempt)).toEqual([1, 2]);
    expect(await counterValue(runtime.metrics.processed)).toBe(1);
  });

  it('parks the event once its last tier times out too, with the timeout as its error', async () => {
    const bed = await testbed('handler-always-hung', { tiers: 1 });
    const hung = videoUploaded();
    const handlers: EventHandlers = { ...otherEventsIgnored, 'video.uploaded': () => new Promise(() => undefined) };
    const runtime = await bed.runtime({ handlers, handlerTimeoutMs: 300, retryPolicy: { ...fastRetryPolicy, tierDelaysMs: [200] } });

    await bed.publish([hung]);
    await eventually(async () => (await bed.recordCount(bed.deadLetterTopic)) === 1, 20_000, 'the event to be parked');
    await runtime.stop();

    expect(await counterValue(runtime.metrics.failed, { code: 'handler_timeout' })).toBe(2);
    expect(await counterValue(runtime.metrics.deadLettered, { code: 'handler_timeout' })).toBe(1);
    expect(await counterValue(runtime.metrics.processed)).toBe(0);
  });
});
