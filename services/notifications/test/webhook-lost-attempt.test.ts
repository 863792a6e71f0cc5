import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { TargetGuard, parseAllowedTargets } from '@video-pipeline/webhooks';
import { WebhookDispatcher } from '../src/webhook-dispatcher';
import { eventually, testLogger } from '../../../test/support/pipeline';
import { WebhookTestbed, fastDeliveryPolicy } from './support/webhook-testbed';

jest.setTimeout(60_000);

const DISPATCHER_PROCESS = path.join(__dirname, 'fixtures', 'dispatcher-process.ts');
/** The dying dispatcher's lease: its 2 s attempt time limit plus this. */
const LEASE_MARGIN_MS = 1_000;
const LEASE_MS = fastDeliveryPolicy.timeoutMs + LEASE_MARGIN_MS;

/**
 * A dispatcher killed while it waits for an endpoint's answer leaves its
 * delivery leased and its attempt unrecorded. The dispatcher that takes the
 * delivery once the lease is over logs that attempt as lost, counts it, and
 * sends again: the owner's delivery log has every attempt.
 */
describe('a webhook attempt lost with its dispatcher', () => {
  const bed = new WebhookTestbed('lost-attempt');
  let dying: ChildProcess | undefined;

  beforeAll(async () => {
    await bed.start(fastDeliveryPolicy);
    // Only the dispatchers this test starts send.
    await bed.dispatcher.stop();
  });
  afterAll(async () => {
    if (dying && dying.exitCode === null && dying.signalCode === null) dying.kill('SIGKILL');
    await bed.close();
  });

  /**
   * Lost-attempt rows in the whole table. CI's database is shared: a dispatcher here also takes other suites'
   * deliveries whose leases ran out, and counts those it finds lost; the metric must agree with the rows written.
   */
  const lostRows = () => bed.prisma.webhookAttempt.count({ where: { errorCode: 'webhook_attempt_lost' } });
  const counted = async (registry: Registry, outcome: string) => (await registry.getSingleMetric('webhook_attempts_total')?.get())?.values.find((value) => value.labels.outcome === outcome)?.value ?? 0;

  function survivingDispatcher(registry: Registry): WebhookDispatcher {
    return new WebhookDispatcher({
      prisma: bed.prisma,
      guard: new TargetGuard(parseAllowedTargets(bed.config.webhooks.allowedTargets)),
      policy: fastDeliveryPolicy,
      logger: testLogger(),
      pollMs: 50,
      registry,
    });
  }

  it('is logged as lost, counted, and the delivery is sent again once the lease is over', async () => {
    // The first request hangs (the dispatcher dies waiting); the next is answered.
    bed.receiver.on('/lost', (_request, count) => (count === 1 ? 'hang' : { status: 200 }));
    const hook = await bed.subscribe(bed.receiver.url('/lost'), ['video.ready']);
    const { body: queued } = await bed.call('POST', `/v1/webhooks/${hook.id}/test`);

    let output = '';
    dying = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, DISPATCHER_PROCESS], {
      env: {
        ...process.env,
        KAFKA_TOPIC_PREFIX: bed.config.kafka.topicPrefix,
        WEBHOOK_ALLOWED_TARGETS: '127.0.0.1',
        WEBHOOK_TIMEOUT_MS: String(fastDeliveryPolicy.timeoutMs),
        DISPATCHER_LEASE_MARGIN_MS: String(LEASE_MARGIN_MS),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dying.stdout!.on('data', (chunk) => (output += chunk));
    dying.stderr!.on('data', (chunk) => (output += chunk));
    const first = (await eventually(async () => bed.receiver.requestsTo('/lost')[0], 30_000, 'the first attempt to reach the endpoint'))!;
    const exited = new Promise((resolve) => dying!.once('exit', (code, signal) => resolve({ code, signal })));
    dying.kill('SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });

    // Another dispatcher, started while the lease still lasts: it leaves the delivery alone until the lease is over, then takes it.
    const registry = new Registry();
    const lostBefore = await lostRows();
    bed.dispatcher = survivingDispatcher(registry);
    bed.dispatcher.start();
    const second = (await eventually(async () => bed.receiver.requestsTo('/lost')[1], 20_000, `the delivery sent again (dying dispatcher's output: ${output})`))!;
    // The same message, as a retry is.
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);

    const delivery = await eventually(async () => {
      const { body } = await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`);
      const found = body.items.find((item: { id: string }) => item.id === queued.id);
      return found?.status === 'succeeded' ? found : undefined;
    }, 10_000, 'the delivery to succeed');
    expect(delivery.attempts).toEqual([
      {
        attempt: 1,
        at: expect.any(String),
        statusCode: null,
        latencyMs: null,
        error: { code: 'webhook_attempt_lost', message: 'the dispatcher sending this attempt stopped before it recorded an answer; whether the endpoint got it is unknown, so it is sent again' },
      },
      { attempt: 2, at: expect.any(String), statusCode: 200, latencyMs: expect.any(Number), error: null },
    ]);
    // The lost attempt is dated when it was claimed: just before its request reached the endpoint; the lease ran from then.
    const lostAt = Date.parse(delivery.attempts[0].at);
    expect(lostAt).toBeLessThanOrEqual(first.at);
    expect(first.at - lostAt).toBeLessThan(1_000);
    expect(second.at - lostAt).toBeGreaterThanOrEqual(LEASE_MS);
    await bed.dispatcher.stop();
    expect(await counted(registry, 'webhook_attempt_lost')).toBeGreaterThanOrEqual(1);
    expect(await counted(registry, 'webhook_attempt_lost')).toBe((await lostRows()) - lostBefore);
    expect(await counted(registry, 'delivered')).toBe(1);
    // Not the endpoint's failure: it does not count towards disabling it.
    expect((await bed.call('GET', `/v1/webhooks/${hook.id}`)).body.consecutiveFailures).toBe(0);
    expect(await bed.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: queued.id } })).toMatchObject({ attempts: 2, status: 'succeeded' });
  });

  it('is not what an attempt given back at shutdown, or a failed one, becomes', async () => {
    await bed.dispatcher.stop();
    // The first request hangs past a short shutdown grace (given back, uncounted), the second fails, the third is answered.
    bed.receiver.on('/given-back', (_request, count) => (count === 1 ? 'hang' : { status: count === 2 ? 500 : 200 }));
    const hook = await bed.subscribe(bed.receiver.url('/given-back'), ['video.ready']);
    const { body: queued } = await bed.call('POST', `/v1/webhooks/${hook.id}/test`);
    const stopping = new WebhookDispatcher({ prisma: bed.prisma, guard: new TargetGuard(parseAllowedTargets(bed.config.webhooks.allowedTargets)), policy: fastDeliveryPolicy, logger: testLogger(), pollMs: 50, shutdownGraceMs: 100 });
    stopping.start();
    await eventually(async () => bed.receiver.requestsTo('/given-back').length === 1, 10_000, 'the first attempt to reach the endpoint');
    await stopping.stop();

    const registry = new Registry();
    const lostBefore = await lostRows();
    bed.dispatcher = survivingDispatcher(registry);
    bed.dispatcher.start();
    const delivery = await eventually(async () => {
      const { body } = await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`);
      const found = body.items.find((item: { id: string }) => item.id === queued.id);
      return found?.status === 'succeeded' ? found : undefined;
    }, 10_000, 'the delivery to succeed');
    expect(delivery.attempts.map((attempt: { attempt: number; statusCode: number | null; error: { code: string } | null }) => [attempt.attempt, attempt.statusCode, attempt.error?.code ?? null])).toEqual([
      [1, 500, 'webhook_http_status'],
      [2, 200, null],
    ]);
    await bed.dispatcher.stop();
    // Any lost attempt it counted is another suite's, logged as such (this delivery's log above has none).
    expect(await counted(registry, 'webhook_attempt_lost')).toBe((await lostRows()) - lostBefore);
    expect(await counted(registry, 'webhook_http_status')).toBe(1);
  });
});
