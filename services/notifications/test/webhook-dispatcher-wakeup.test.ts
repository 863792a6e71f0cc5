import { Registry } from 'prom-client';
import { eventually } from '../../../test/support/pipeline';
import { WebhookTestbed, fastDeliveryPolicy } from './support/webhook-testbed';

/** What the registry says of one metric, as Prometheus would scrape it. */
async function metricValues(registry: Registry, name: string): Promise<{ labels: Partial<Record<string, string | number>>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  return metric ? (await metric.get()).values.map(({ labels, value }) => ({ labels, value })) : [];
}

describe('the webhook dispatcher woken by the database (a 60 s poll, LISTEN webhook_deliveries)', () => {
  let bed: WebhookTestbed;
  const registry = new Registry();
  beforeAll(async () => {
    bed = new WebhookTestbed('wakeup');
    // No retries: a failing endpoint's delivery fails at once, for the retry below.
    await bed.start({ ...fastDeliveryPolicy, retryDelaysMs: [] }, { pollMs: 60_000, databaseUrl: bed.config.database.url, registry });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('sends a new delivery at once, not at its next poll', async () => {
    const hook = await bed.subscribe(bed.receiver.url('/at-once'), ['video.ready']);
    // Let the dispatcher's start-up claim pass: from here on only a NOTIFY can wake it within the minute.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const asked = Date.now();
    expect((await bed.call('POST', `/v1/webhooks/${hook.id}/test`)).status).toBe(202);
    const [request] = await eventually(async () => bed.receiver.requestsTo('/at-once').length > 0 && bed.receiver.requestsTo('/at-once'), 10_000, 'the delivery');
    expect(request!.at - asked).toBeLessThan(5_000);
  });

  it('sends a delivery retried through the API at once, and counts attempts by outcome', async () => {
    let failing = true;
    bed.receiver.on('/retried', () => ({ status: failing ? 500 : 200 }));
    const hook = await bed.subscribe(bed.receiver.url('/retried'), ['video.ready']);
    const { body: queued } = await bed.call('POST', `/v1/webhooks/${hook.id}/test`);
    await eventually(async () => (await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`)).body.items[0]?.status === 'failed', 10_000, 'the delivery failed');
    const failures = (await metricValues(registry, 'webhook_attempts_total')).find((value) => value.labels.outcome === 'webhook_http_status');
    expect(failures?.value).toBe(1);

    failing = false;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const asked = Date.now();
    expect((await bed.call('POST', `/v1/webhooks/${hook.id}/deliveries/${queued.id}/retry`)).status).toBe(202);
    const second = (await eventually(async () => bed.receiver.requestsTo('/retried')[1], 10_000, 'the retried delivery'))!;
    expect(second.at - asked).toBeLessThan(5_000);

    await eventually(async () => (await metricValues(registry, 'webhook_attempts_total')).some((value) => value.labels.outcome === 'delivered' && value.value >= 2), 5_000, 'the counts');
    const latency = await metricValues(registry, 'webhook_attempt_duration_seconds');
    expect(latency.find((value) => value.labels.le === '+Inf')?.value).toBeGreaterThanOrEqual(3);
    expect(await metricValues(registry, 'webhook_deliveries_in_flight')).toEqual([{ labels: {}, value: 0 }]);
  });

  it('counts the backlog: deliveries due to enabled endpoints that no dispatcher sends', async () => {
    // Other suites may have left deliveries in this database: the figure is compared with itself.
    const due = async () => (await metricValues(registry, 'webhook_deliveries_due'))[0]!.value;
    await bed.dispatcher.stop();
    const before = await due();
    const hook = await bed.subscribe(bed.receiver.url('/backlog'), ['video.ready']);
    expect((await bed.call('POST', `/v1/webhooks/${hook.id}/test`)).status).toBe(202);
    expect(await due()).toBe(before + 1);
    // A disabled endpoint's deliveries are not sent, so they are no backlog.
    expect((await bed.call('PATCH', `/v1/webhooks/${hook.id}`, { enabled: false })).status).toBe(200);
    expect(await due()).toBe(before);
    expect(bed.receiver.requestsTo('/backlog')).toEqual([]);
  });
});
