import { Webhook } from 'standardwebhooks';
import { defaultDeliveryPolicy, deliveryPolicyFrom, deliveryPolicyProblems, newSigningSecret, retryDelayMs, shouldDisable, signWebhook } from '../src';

describe('the delivery policy', () => {
  it('retries after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h, then gives up', () => {
    const exact = { ...defaultDeliveryPolicy, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelayMs(exact, attempt))).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, undefined]);
  });

  it('draws each delay up to the jitter sooner, never later', () => {
    expect(retryDelayMs(defaultDeliveryPolicy, 1, () => 0)).toBe(5_000);
    expect(retryDelayMs(defaultDeliveryPolicy, 1, () => 0.999999)).toBe(4_000);
  });

  it('disables an endpoint only after enough failures over long enough', () => {
    const policy = { ...defaultDeliveryPolicy, disableAfterFailures: 3, disableAfterMs: 60_000 };
    const since = new Date(0);
    expect(shouldDisable(policy, 2, since, 120_000)).toBe(false);
    expect(shouldDisable(policy, 3, since, 59_999)).toBe(false);
    expect(shouldDisable(policy, 3, since, 60_000)).toBe(true);
  });

  it('takes the schedule from the environment, and says what is wrong with a bad one', () => {
    const policy = deliveryPolicyFrom({ timeoutMs: 1_000, retryDelaysMs: [10, 20], disableAfterFailures: 5, disableAfterMs: 0, secretGraceMs: 1 });
    expect(policy).toMatchObject({ timeoutMs: 1_000, retryDelaysMs: [10, 20], jitter: defaultDeliveryPolicy.jitter });
    expect(deliveryPolicyFrom({ timeoutMs: 1_000, disableAfterFailures: 5, disableAfterMs: 0, secretGraceMs: 1 }).retryDelaysMs).toBe(defaultDeliveryPolicy.retryDelaysMs);
    expect(deliveryPolicyProblems({ ...policy, jitter: 2, timeoutMs: 0 })).toEqual(['timeoutMs must be > 0', 'jitter must be between 0 and 1']);
  });
});

describe('signing', () => {
  it('signs id.timestamp.body with every secret given, as the reference library verifies', () => {
    const [current, previous] = [newSigningSecret(), newSigningSecret()];
    const body = JSON.stringify({ type: 'video.ready', timestamp: '2026-12-07T00:00:00.000Z', data: { videoId: 'v' } });
    const headers = signWebhook({ id: 'msg_1', body, timestamp: new Date() }, [current, previous]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSigningSecret()).verify(body, { ...headers })).toThrow('No matching signature found');
  });

  it('matches the specification\'s HMAC by hand', async () => {
    const { createHmac } = await import('node:crypto');
    const secret = newSigningSecret();
    const timestamp = new Date(1_700_000_000_000);
    const headers = signWebhook({ id: 'msg_2', body: '{"a":1}', timestamp }, [secret]);
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update('msg_2.1700000000.{"a":1}').digest('base64');
    expect(headers).toEqual({ 'webhook-id': 'msg_2', 'webhook-timestamp': '1700000000', 'webhook-signature': `v1,${expected}` });
  });
});
