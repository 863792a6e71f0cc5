import net from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createEvent } from '@video-pipeline/events';
import { TargetGuard, parseAllowedTargets, signWebhook } from '@video-pipeline/webhooks';
import { eventually, OTHER_API_KEY, testLogger } from '../../../test/support/pipeline';
import { fanOutToWebhooks } from '../src/handlers/fan-out-to-webhooks';
import { WebhookDispatcher } from '../src/webhook-dispatcher';
import { VideoStory } from '../../../test/support/video-events';
import { WebhookTestbed, fastDeliveryPolicy } from './support/webhook-testbed';

describe('webhook deliveries (group notifications, real broker and database, a local receiver)', () => {
  let bed: WebhookTestbed;
  beforeAll(async () => {
    bed = await new WebhookTestbed('webhooks', { WEBHOOK_SECRET_GRACE_HOURS: '0.001' }).start({ ...fastDeliveryPolicy, disableAfterFailures: 3, disableAfterMs: 0 });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('signs every delivery per Standard Webhooks: the receiver verifies it; a tampered body or an old timestamp fails', async () => {
    const hook = await bed.subscribe(bed.receiver.url('/signed'), ['video.ready']);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const story = new VideoStory('alice', new Date());
    const ready = story.ready(30);
    await bed.publish(story.uploaded(), ready); // uploaded is not subscribed: only ready comes

    const [request] = await eventually(async () => bed.receiver.requestsTo('/signed').length > 0 && bed.receiver.requestsTo('/signed'), 20_000, 'the delivery');
    const receiver = new Webhook(hook.secret);
    expect(receiver.verify(request!.body, request!.headers)).toEqual({ type: 'video.ready', timestamp: ready.time, data: ready.data });
    expect(request!.headers['webhook-id']).toBe(ready.id);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const tampered = request!.body.replace('"video.ready"', '"video.rejected"');
    expect(() => receiver.verify(tampered, request!.headers)).toThrow('No matching signature found');
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(request!.body, request!.headers)).toThrow('No matching signature found');
    const old = signWebhook({ id: ready.id, body: request!.body, timestamp: new Date(Date.now() - 10 * 60_000) }, [hook.secret]);
    expect(() => receiver.verify(request!.body, { ...old })).toThrow('Message timestamp too old');
    expect(bed.receiver.requestsTo('/signed')).toHaveLength(1);
  });

  it('makes one delivery of a redelivered event, and one per subscription', async () => {
    const [first, second] = [await bed.subscribe(bed.receiver.url('/one'), ['video.failed']), await bed.subscribe(bed.receiver.url('/two'), ['video.failed', 'video.ready'])];
    const other = await bed.subscribe(bed.receiver.url('/bobs'), ['video.failed'], OTHER_API_KEY);
    const story = new VideoStory('alice', new Date());
    const failed = story.failed(5, 'transcode', 'media_undecodable');
    await bed.publish(failed, failed, failed);

    await eventually(async () => bed.receiver.requestsTo('/one').length === 1 && bed.receiver.requestsTo('/two').length === 1, 20_000, 'both deliveries');
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the copies have been consumed by now
    const rows = await bed.prisma.webhookDelivery.findMany({ where: { eventId: failed.id } });
    expect(rows.map((row) => row.subscriptionId).sort()).toEqual([first.id, second.id].sort());
    expect(bed.receiver.requestsTo('/one')).toHaveLength(1);
    expect(bed.receiver.requestsTo('/two')).toHaveLength(1);
    expect(bed.receiver.requestsTo('/bobs')).toHaveLength(0); // another owner's video
    expect(other.id).toBeDefined();
  });

  it('makes no second delivery when the fan-out runs again for the same event (another group, a replay after pruning)', async () => {
    const hook = await bed.subscribe(bed.receiver.url('/once'), ['video.uploaded']);
    const uploaded = new VideoStory('alice', new Date()).uploaded();
    const context = { groupId: 'test-direct', attempt: 1, logger: testLogger(), signal: new AbortController().signal };
    for (let run = 0; run < 2; run++) {
      const effects = (await fanOutToWebhooks(uploaded, context))!;
      await bed.prisma.$transaction((tx) => effects(tx));
    }
    expect(await bed.prisma.webhookDelivery.count({ where: { eventId: uploaded.id } })).toBe(1);
    await eventually(async () => bed.receiver.requestsTo('/once').length === 1, 10_000, 'the one delivery');
    expect((await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`)).body.items).toHaveLength(1);
  });

  it('retries a failing endpoint with the same webhook-id, logs each attempt, and delays nobody else meanwhile', async () => {
    bed.receiver.on('/flaky', (_request, count) => ({ status: count <= 2 ? 503 : 204 }));
    bed.receiver.on('/dead', () => 'hang');
    const flaky = await bed.subscribe(bed.receiver.url('/flaky'), ['video.rejected']);
    await bed.subscribe(bed.receiver.url('/dead'), ['video.rejected'], OTHER_API_KEY);
    await bed.subscribe(bed.receiver.url('/healthy'), ['video.rejected']);
    const alices = new VideoStory('alice', new Date());
    const bobs = new VideoStory('bob', new Date());
    const rejected = alices.rejected(3);
    const published = Date.now();
    await bed.publish(bobs.rejected(3), rejected);

    await eventually(async () => bed.receiver.requestsTo('/flaky').length === 3, 20_000, 'three attempts');
    const [healthy] = bed.receiver.requestsTo('/healthy');
    const flakyRequests = bed.receiver.requestsTo('/flaky');
    // The healthy endpoint had its delivery before the flaky one's retries, while the dead one was still hanging.
    expect(healthy!.at).toBeLessThan(flakyRequests[1]!.at);
    expect(healthy!.at - published).toBeLessThan(fastDeliveryPolicy.timeoutMs);
    expect(flakyRequests.map((request) => request.headers['webhook-id'])).toEqual([rejected.id, rejected.id, rejected.id]);
    expect(flakyRequests[1]!.at - flakyRequests[0]!.at).toBeGreaterThanOrEqual(300);

    const page = await eventually(async () => {
      const { body } = await bed.call('GET', `/v1/webhooks/${flaky.id}/deliveries`);
      return body.items[0]?.status === 'succeeded' && body;
    }, 10_000, 'the delivery recorded as succeeded');
    expect(page.items).toHaveLength(1);
    const [delivery] = page.items;
    expect(delivery).toMatchObject({ eventType: 'video.rejected', status: 'succeeded', nextAttemptAt: null });
    expect(delivery.attempts.map((attempt: any) => [attempt.attempt, attempt.statusCode, attempt.error?.code ?? null])).toEqual([
      [1, 503, 'webhook_http_status'],
      [2, 503, 'webhook_http_status'],
      [3, 204, null],
    ]);
    for (const attempt of delivery.attempts) expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    const { body: subscription } = await bed.call('GET', `/v1/webhooks/${flaky.id}`);
    expect(subscription).toMatchObject({ enabled: true, consecutiveFailures: 0 });
  });

  it('records a timeout for an endpoint that never answers, and schedules its next attempt', async () => {
    const dead = await bed.subscribe(bed.receiver.url('/silent'), ['video.deleted']);
    bed.receiver.on('/silent', () => 'hang');
    const story = new VideoStory('alice', new Date());
    await bed.publish(
      createEvent('video.deleted', {
        source: '/test',
        subject: story.videoId,
        data: { schemaVersion: 1, videoId: story.videoId, ownerId: 'alice', deletedAt: new Date().toISOString() },
      }),
    );
    const page = await eventually(async () => {
      const { body } = await bed.call('GET', `/v1/webhooks/${dead.id}/deliveries`);
      return body.items[0]?.attempts.length >= 1 && body;
    }, 20_000, 'a timed-out attempt');
    const [attempt] = page.items[0].attempts;
    expect(attempt).toMatchObject({ attempt: 1, statusCode: null, error: { code: 'webhook_timeout' } });
    expect(attempt.latencyMs).toBeGreaterThanOrEqual(fastDeliveryPolicy.timeoutMs - 50);
    expect(page.items[0]).toMatchObject({ status: 'pending', nextAttemptAt: expect.any(String) });
    await bed.call('DELETE', `/v1/webhooks/${dead.id}`);
  });

  it('disables an endpoint after a long run of failures, says why, and sends again once the owner re-enables it', async () => {
    let down = true;
    bed.receiver.on('/down', () => ({ status: down ? 500 : 200 }));
    const hook = await bed.subscribe(bed.receiver.url('/down'), ['video.moderated']);
    const story = new VideoStory('alice', new Date());
    await bed.publish(story.moderated(2, 'approved'));

    const disabled = await eventually(async () => {
      const { body } = await bed.call('GET', `/v1/webhooks/${hook.id}`);
      return body.enabled === false && body;
    }, 20_000, 'the endpoint disabled');
    expect(disabled.disabled.reason).toMatch(/^3 attempts failed in a row since .*; the last: webhook_http_status: answered 500$/);
    expect(bed.receiver.requestsTo('/down')).toHaveLength(3);
    await new Promise((resolve) => setTimeout(resolve, 800)); // a retry would be due by now: none is sent while disabled
    expect(bed.receiver.requestsTo('/down')).toHaveLength(3);

    down = false;
    const { status, body } = await bed.call('PATCH', `/v1/webhooks/${hook.id}`, { enabled: true });
    expect(status).toBe(200);
    expect(body).toMatchObject({ enabled: true, disabled: null, consecutiveFailures: 0 });
    await eventually(async () => bed.receiver.requestsTo('/down').length === 4, 10_000, 'the delivery after re-enabling');
    const deliveries = await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`);
    await eventually(async () => (await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`)).body.items[0].status === 'succeeded', 5_000, 'success recorded');
    expect(deliveries.body.items).toHaveLength(1);
  });

  it('signs with both secrets during a rotation\'s grace period, then with the new one alone', async () => {
    const hook = await bed.subscribe(bed.receiver.url('/rotating'), ['video.transcoded']);
    const { status, body: rotated } = await bed.call('POST', `/v1/webhooks/${hook.id}/rotate-secret`);
    expect(status).toBe(200);
    expect(rotated.secret).not.toBe(hook.secret);
    const graceEnds = Date.parse(rotated.previousSecretExpiresAt);

    const story = new VideoStory('alice', new Date());
    await bed.publish(story.transcoded(1, 2, 10));
    const [during] = await eventually(async () => bed.receiver.requestsTo('/rotating').length === 1 && bed.receiver.requestsTo('/rotating'), 20_000, 'a delivery in the grace period');
    expect(during!.at).toBeLessThan(graceEnds);
    expect(during!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(hook.secret).verify(during!.body, during!.headers)).toMatchObject({ type: 'video.transcoded' });
    expect(new Webhook(rotated.secret).verify(during!.body, during!.headers)).toMatchObject({ type: 'video.transcoded' });

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, graceEnds - Date.now() + 100)));
    const later = new VideoStory('alice', new Date());
    await bed.publish(later.transcoded(1, 2, 10));
    const after = (await eventually(async () => bed.receiver.requestsTo('/rotating')[1], 20_000, 'a delivery after the grace period'))!;
    expect(new Webhook(rotated.secret).verify(after.body, after.headers)).toMatchObject({ type: 'video.transcoded' });
    expect(() => new Webhook(hook.secret).verify(after.body, after.headers)).toThrow('No matching signature found');
  });

  it('does not follow a redirect to a private address: the listener there hears nothing', async () => {
    let connections = 0;
    const trap = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.2', resolve));
    try {
      const trapPort = (trap.address() as net.AddressInfo).port;
      bed.receiver.on('/redirecting', () => ({ status: 302, headers: { location: `http://127.0.0.2:${trapPort}/` } }));
      const hook = await bed.subscribe(bed.receiver.url('/redirecting'), ['video.thumbnails.failed']);
      const story = new VideoStory('alice', new Date());
      await bed.publish(story.thumbnailsFailed(1, 1, 'media_undecodable'));
      const page = await eventually(async () => {
        const { body } = await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`);
        return body.items[0]?.attempts.length >= 1 && body;
      }, 20_000, 'the redirected attempt');
      expect(page.items[0].attempts[0]).toMatchObject({ statusCode: 302, error: { code: 'webhook_redirect' } });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => trap.close(resolve));
    }
  });

  it('sends a test message on request, and a delivery again when asked', async () => {
    const hook = await bed.subscribe(bed.receiver.url('/testing'), ['video.ready']);
    const { status, body: queued } = await bed.call('POST', `/v1/webhooks/${hook.id}/test`);
    expect(status).toBe(202);
    expect(queued).toMatchObject({ eventType: 'webhook.test', status: 'pending', attempts: [] });
    const [first] = await eventually(async () => bed.receiver.requestsTo('/testing').length === 1 && bed.receiver.requestsTo('/testing'), 10_000, 'the test message');
    expect(new Webhook(hook.secret).verify(first!.body, first!.headers)).toMatchObject({ type: 'webhook.test', data: { webhookSubscriptionId: hook.id } });
    expect(first!.headers['webhook-id']).toBe(queued.webhookId);

    await eventually(async () => (await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`)).body.items[0].status === 'succeeded', 5_000, 'the test recorded');
    const retried = await bed.call('POST', `/v1/webhooks/${hook.id}/deliveries/${queued.id}/retry`);
    expect(retried).toMatchObject({ status: 202, body: { id: queued.id, status: 'pending' } });
    const second = (await eventually(async () => bed.receiver.requestsTo('/testing')[1], 10_000, 'the retried message'))!;
    expect(second.headers['webhook-id']).toBe(queued.webhookId);
    expect((await bed.call('POST', `/v1/webhooks/${hook.id}/deliveries/${queued.id}/retry`, undefined, OTHER_API_KEY)).status).toBe(404);
  });

  it('leaves a delivery being sent to its attempt when asked to send it again: no second request, no attempt logged as lost', async () => {
    // Two instances, as in production: the one not sending would take a delivery made due again at once.
    await bed.dispatcher.stop();
    const policy = { ...fastDeliveryPolicy, timeoutMs: 20_000 };
    const dispatchers = [1, 2].map(() => new WebhookDispatcher({ prisma: bed.prisma, guard: new TargetGuard(parseAllowedTargets(bed.config.webhooks.allowedTargets)), policy, logger: testLogger(), pollMs: 50 }));
    for (const dispatcher of dispatchers) dispatcher.start();
    try {
      let answer = (_: { status: number }) => {};
      bed.receiver.on('/in-flight', () => new Promise((resolve) => (answer = resolve)));
      const hook = await bed.subscribe(bed.receiver.url('/in-flight'), ['video.ready']);
      const { body: queued } = await bed.call('POST', `/v1/webhooks/${hook.id}/test`);
      await eventually(async () => bed.receiver.requestsTo('/in-flight').length === 1, 10_000, 'the attempt to reach the endpoint');

      const retried = await bed.call('POST', `/v1/webhooks/${hook.id}/deliveries/${queued.id}/retry`);
      expect(retried).toMatchObject({ status: 202, body: { id: queued.id, status: 'pending', attempts: [] } });
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // each dispatcher looks every 50 ms
      expect(bed.receiver.requestsTo('/in-flight')).toHaveLength(1);

      answer({ status: 200 });
      const delivery = await eventually(async () => {
        const { body } = await bed.call('GET', `/v1/webhooks/${hook.id}/deliveries`);
        return body.items[0]?.status === 'succeeded' ? body.items[0] : undefined;
      }, 10_000, 'the attempt recorded');
      expect(delivery.attempts.map((attempt: { attempt: number; statusCode: number | null; error: unknown }) => [attempt.attempt, attempt.statusCode, attempt.error])).toEqual([[1, 200, null]]);
      expect(bed.receiver.requestsTo('/in-flight')).toHaveLength(1);
    } finally {
      for (const dispatcher of dispatchers) await dispatcher.stop();
    }
  });
});

describe('webhook deliveries when endpoints hang (a dispatcher of 8 slots, claiming 2 at a time)', () => {
  let bed: WebhookTestbed;
  beforeAll(async () => {
    bed = await new WebhookTestbed('hanging').start(fastDeliveryPolicy, { concurrency: 8 });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('keeps delivering to a healthy endpoint while seven of its eight slots wait on endpoints that never answer', async () => {
    for (let i = 0; i < 7; i++) {
      bed.receiver.on(`/hanging/${i}`, () => 'hang');
      await bed.subscribe(bed.receiver.url(`/hanging/${i}`), ['video.ready'], OTHER_API_KEY);
    }
    await bed.subscribe(bed.receiver.url('/alive'), ['video.ready']);
    const bobs = [new VideoStory('bob', new Date())];
    await bed.publish(...bobs.map((story) => story.ready(10)));
    await eventually(async () => [0, 1, 2, 3, 4, 5, 6].every((i) => bed.receiver.requestsTo(`/hanging/${i}`).length > 0), 10_000, 'every hanging endpoint holding a slot');

    const alices = Array.from({ length: 5 }, () => new VideoStory('alice', new Date()));
    const published = Date.now();
    await bed.publish(...alices.map((story) => story.ready(10)));
    await eventually(async () => bed.receiver.requestsTo('/alive').length === 5, 10_000, 'five deliveries to the healthy endpoint');
    // All five went out while the hanging attempts still held their slots (they end at the 2 s timeout).
    expect(bed.receiver.requestsTo('/alive').at(-1)!.at - published).toBeLessThan(fastDeliveryPolicy.timeoutMs);
  });
});
