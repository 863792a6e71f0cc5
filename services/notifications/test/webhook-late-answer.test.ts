import { createLogger } from '@video-pipeline/logging';
import { TargetGuard, parseAllowedTargets } from '@video-pipeline/webhooks';
import { WebhookDispatcher } from '../src/webhook-dispatcher';
import { eventually, testLogger } from '../../../test/support/pipeline';
import { WebhookTestbed, fastDeliveryPolicy } from './support/webhook-testbed';
import type { Answer, Behaviour } from './support/receiver';

jest.setTimeout(60_000);

/**
 * The stalling dispatcher: its request may take 10 s, but its lease is only
 * 0.5 s (a margin of -9.5 s), so its request is still waiting when the lease
 * ends, as it is for a dispatcher that stalled.
 */
const stallingPolicy = { ...fastDeliveryPolicy, timeoutMs: 10_000 };
const STALLING_LEASE_MARGIN_MS = 500 - stallingPolicy.timeoutMs;

interface LogLine {
  level: string;
  msg: string;
  deliveryId?: string;
  attempt?: number;
  statusCode?: number;
}

/** A request the test answers when it says so. */
function answerLater(): { promise: Promise<Answer>; answer(answer: Answer): void } {
  let answer!: (answer: Answer) => void;
  const promise = new Promise<Answer>((resolve) => (answer = resolve));
  return { promise, answer };
}

/**
 * A dispatcher that outlives its lease and then gets its answer: the answer
 * takes the lost attempt's place in the log, and the delivery stays the
 * newer attempt's.
 */
describe('a webhook answer that comes after its lease', () => {
  const bed = new WebhookTestbed('late-answer');
  const lines: LogLine[] = [];
  let stalling: WebhookDispatcher | undefined;

  beforeAll(async () => {
    await bed.start(fastDeliveryPolicy);
    // Only the dispatchers this test starts send.
    await bed.dispatcher.stop();
  });
  const hooks: string[] = [];
  afterEach(async () => {
    await stalling?.stop();
    await bed.dispatcher.stop();
    // A delivery left pending (the second test's retry) is not for the next test file's dispatcher to send.
    for (const id of hooks.splice(0)) await bed.call('DELETE', `/v1/webhooks/${id}`);
  });
  afterAll(async () => bed.close());

  const guard = () => new TargetGuard(parseAllowedTargets(bed.config.webhooks.allowedTargets));
  function startStalling(): WebhookDispatcher {
    const logger = createLogger('stalling', { level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    stalling = new WebhookDispatcher({ prisma: bed.prisma, guard: guard(), policy: stallingPolicy, logger, pollMs: 50, shutdownGraceMs: 100, leaseMarginMs: STALLING_LEASE_MARGIN_MS });
    stalling.start();
    return stalling;
  }
  function startOther(): WebhookDispatcher {
    bed.dispatcher = new WebhookDispatcher({ prisma: bed.prisma, guard: guard(), policy: fastDeliveryPolicy, logger: testLogger(), pollMs: 50 });
    bed.dispatcher.start();
    return bed.dispatcher;
  }
  const attemptsOf = async (deliveryId: string) => bed.prisma.webhookAttempt.findMany({ where: { deliveryId }, orderBy: { attempt: 'asc' } });
  const logged = (deliveryId: string) => lines.filter((line) => line.deliveryId === deliveryId);
  /** A subscription to `path` answered as `behaviour` says, and its test delivery queued. */
  async function queueTest(path: string, behaviour: Behaviour): Promise<{ hook: { id: string }; queued: { id: string } }> {
    bed.receiver.on(path, behaviour);
    const hook = await bed.subscribe(bed.receiver.url(path), ['video.ready']);
    hooks.push(hook.id);
    const { body: queued } = await bed.call('POST', `/v1/webhooks/${hook.id}/test`);
    return { hook, queued };
  }

  it('replaces the lost attempt with its real answer, and leaves the delivery and the endpoint to the newer attempt', async () => {
    const late = answerLater();
    const { hook, queued } = await queueTest('/late', (_request, count) => (count === 1 ? late.promise : { status: 200 }));

    startStalling();
    const first = await eventually(async () => bed.receiver.requestsTo('/late')[0], 10_000, 'the first attempt to reach the endpoint');
    // Its lease ends while it waits; another dispatcher claims the delivery, logs attempt 1 as lost, and delivers attempt 2.
    startOther();
    await eventually(async () => (await bed.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } })).status === 'succeeded', 10_000, 'attempt 2 to be recorded');
    expect((await attemptsOf(queued.id)).map((row) => [row.attempt, row.statusCode, row.errorCode])).toEqual([
      [1, null, 'webhook_attempt_lost'],
      [2, 200, null],
    ]);
    const delivered = await bed.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } });

    // Now the endpoint answers the first request, a failure, within the stalling dispatcher's time limit.
    late.answer({ status: 503 });
    await eventually(async () => (await attemptsOf(queued.id))[0]?.statusCode === 503, 10_000, "attempt 1's answer to be recorded");

    const { body: page } = await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`);
    const delivery = page.items.find((item: { id: string }) => item.id === queued.id);
    expect(delivery).toMatchObject({ status: 'succeeded', nextAttemptAt: null });
    expect(delivery.attempts).toEqual([
      { attempt: 1, at: expect.any(String), statusCode: 503, latencyMs: expect.any(Number), error: { code: 'webhook_http_status', message: expect.stringContaining('503') } },
      { attempt: 2, at: expect.any(String), statusCode: 200, latencyMs: expect.any(Number), error: null },
    ]);
    // What really happened: sent when the first request reached the endpoint, answered after attempt 2 was.
    expect(Math.abs(Date.parse(delivery.attempts[0].at) - first.at)).toBeLessThan(1_000);
    expect(delivery.attempts[0].latencyMs).toBeGreaterThan(Date.parse(delivery.attempts[1].at) - Date.parse(delivery.attempts[0].at));
    // The delivery is attempt 2's, unchanged: not made pending for a retry of attempt 1, not its status code.
    expect(await bed.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } })).toEqual(delivered);
    expect(delivered).toMatchObject({ attempts: 2, status: 'succeeded', lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    // Not counted towards disabling the endpoint: attempt 2's success is the more recent word on it.
    expect((await bed.call('GET', `/v1/webhooks/${hook.id}`)).body.consecutiveFailures).toBe(0);
    expect(logged(queued.id)).toContainEqual(
      expect.objectContaining({ level: 'warn', attempt: 1, statusCode: 503, msg: expect.stringContaining('came after its lease ended and a newer attempt was claimed') }),
    );
    expect(logged(queued.id).filter((line) => line.level === 'error')).toEqual([]);
  });

  it('is recorded as usual when no newer attempt was claimed meanwhile', async () => {
    const late = answerLater();
    const { hook, queued } = await queueTest('/late-alone', (_request, count) => (count === 1 ? late.promise : { status: 200 }));

    // No other dispatcher: the lease ends, nobody claims the delivery again.
    startStalling();
    const first = await eventually(async () => bed.receiver.requestsTo('/late-alone')[0], 10_000, 'the first attempt to reach the endpoint');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, first.at + 1_000 - Date.now())));
    late.answer({ status: 500 });

    // The attempt's row first: one statement wrote it with the delivery's state, so the state read after is that statement's.
    const attempts = await eventually(async () => {
      const rows = await attemptsOf(queued.id);
      return rows.length > 0 ? rows : undefined;
    }, 10_000, 'attempt 1 to be recorded');
    expect(attempts.map((row) => [row.attempt, row.statusCode, row.errorCode])).toEqual([[1, 500, 'webhook_http_status']]);
    // Its failure is the delivery's: pending for its retry, and the endpoint's run of failures has it.
    expect(await bed.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } })).toMatchObject({ attempts: 1, status: 'pending', lastStatusCode: 500 });
    expect((await bed.call('GET', `/v1/webhooks/${hook.id}`)).body.consecutiveFailures).toBe(1);
    expect(logged(queued.id)).toContainEqual(expect.objectContaining({ level: 'info', attempt: 1, statusCode: 500, msg: expect.stringContaining('came after its lease ended, before the delivery was claimed again') }));
  });

  it('given back at shutdown after its lease, does not uncount the newer attempt', async () => {
    const { hook, queued } = await queueTest('/given-back-late', (_request, count) => (count === 1 ? 'hang' : { status: 200 }));

    const dispatcher = startStalling();
    await eventually(async () => bed.receiver.requestsTo('/given-back-late')[0], 10_000, 'the first attempt to reach the endpoint');
    startOther();
    await eventually(async () => (await bed.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } })).status === 'succeeded', 10_000, 'attempt 2 to be recorded');
    // Stopped with its request still hanging: aborted after the grace, and given back only if the delivery were still its own.
    await dispatcher.stop();

    expect(await bed.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } })).toMatchObject({ attempts: 2, status: 'succeeded', nextAttemptAt: null });
    expect((await attemptsOf(queued.id)).map((row) => [row.attempt, row.statusCode, row.errorCode])).toEqual([
      [1, null, 'webhook_attempt_lost'],
      [2, 200, null],
    ]);
  });
});
