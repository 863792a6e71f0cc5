import net from 'node:net';
import { TargetGuard, parseAllowedTargets, type Resolver } from '@video-pipeline/webhooks';
import { ADMIN_API_KEY, API_KEY, OTHER_API_KEY, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

/** Names resolve from this table only: no test reaches a DNS server. */
const resolver: Resolver = async (hostname) => {
  const table: Record<string, string[]> = { 'hooks.example.com': ['93.184.216.34'], 'intranet.example.com': ['10.1.2.3'], 'metadata.example.com': ['169.254.169.254'] };
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: net.isIP(address) }));
};

describe('the webhook subscription API', () => {
  let api: RunningApi;
  const call = async (method: string, path: string, body?: unknown, key = API_KEY, contentType = 'application/json') => {
    const response = await fetch(api.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    api = await startUploadApi(testConfig(uniquePrefix('webhooks-api')), { webhookGuard: new TargetGuard(parseAllowedTargets(['127.0.0.1']), resolver) });
  });
  afterAll(async () => {
    await api.close();
  });

  it('creates a subscription, shows its secret once, and keeps it to its owner', async () => {
    const created = await call('POST', '/v1/webhooks', { url: 'https://hooks.example.com/a', events: ['video.ready', 'video.failed'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: 'https://hooks.example.com/a', events: ['video.ready', 'video.failed'], enabled: true, disabled: null, consecutiveFailures: 0 });
    expect(created.body.secret).toMatch(/^whsec_/);
    const { id } = created.body;

    const read = await call('GET', `/v1/webhooks/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    expect(JSON.stringify((await call('GET', '/v1/webhooks')).body)).not.toContain(created.body.secret);

    for (const [method, path, body] of [
      ['GET', `/v1/webhooks/${id}`],
      ['PATCH', `/v1/webhooks/${id}`, { enabled: false }],
      ['DELETE', `/v1/webhooks/${id}`],
      ['POST', `/v1/webhooks/${id}/rotate-secret`],
      ['POST', `/v1/webhooks/${id}/test`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
    ] as const) {
      const answer = await call(method, path, body, OTHER_API_KEY);
      expect([method, path, answer.status, answer.body.error.code]).toEqual([method, path, 404, 'not_found']);
    }
    expect((await call('GET', '/v1/webhooks', undefined, OTHER_API_KEY)).body.items.map((item: { id: string }) => item.id)).not.toContain(id);
    expect((await call('GET', '/v1/webhooks', undefined, ADMIN_API_KEY)).status).toBe(403);
    expect((await call('GET', `/v1/webhooks/${id}`)).status).toBe(200); // untouched by the other owner's attempts
  });

  it('changes, disables, deletes', async () => {
    const { body: hook } = await call('POST', '/v1/webhooks', { url: 'https://hooks.example.com/b', events: ['video.ready'] });
    const changed = await call('PATCH', `/v1/webhooks/${hook.id}`, { url: 'https://hooks.example.com/c', events: ['video.rejected'], enabled: false });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ url: 'https://hooks.example.com/c', events: ['video.rejected'], enabled: false, disabled: { reason: null } });
    expect((await call('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await call('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await call('GET', '/v1/webhooks/not-a-uuid')).status).toBe(404);
  });

  it.each([
    ['http://hooks.example.com/hook', 'must be https'],
    ['https://127.0.0.2/hook', 'loopback'],
    ['https://10.0.0.1/hook', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'link-local'],
    ['https://[::1]/hook', 'loopback'],
    ['https://intranet.example.com/hook', 'intranet.example.com resolves to 10.1.2.3'],
    ['https://metadata.example.com/hook', 'resolves to 169.254.169.254'],
  ])('refuses %s with webhook_target_refused', async (url, said) => {
    const { status, body } = await call('POST', '/v1/webhooks', { url, events: ['video.ready'] });
    expect([status, body.error.code]).toEqual([400, 'webhook_target_refused']);
    expect(body.error.message).toContain(said);
  });

  it('refuses a refused URL on a change too, and leaves the subscription as it was', async () => {
    const { body: hook } = await call('POST', '/v1/webhooks', { url: 'https://hooks.example.com/d', events: ['video.ready'] });
    const { status, body } = await call('PATCH', `/v1/webhooks/${hook.id}`, { url: 'https://intranet.example.com/' });
    expect([status, body.error.code]).toEqual([400, 'webhook_target_refused']);
    expect((await call('GET', `/v1/webhooks/${hook.id}`)).body.url).toBe('https://hooks.example.com/d');
  });

  it('allows a listed target, plain http included', async () => {
    const { status, body } = await call('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['video.ready'] });
    expect(status).toBe(201);
    expect(body.url).toBe('http://127.0.0.1:9/hook');
  });

  it.each([
    [{ url: 'https://hooks.example.com/', events: [] }, 'events'],
    [{ url: 'https://hooks.example.com/', events: ['video.exploded'] }, 'events.0'],
    [{ url: 'https://hooks.example.com/', events: ['video.ready', 'video.ready'] }, 'events'],
    [{ url: 'https://hooks.example.com/' }, 'events'],
    [{ url: 'https://hooks.example.com/', events: ['video.ready'], secret: 'mine' }, ''],
  ])('refuses a malformed subscription %j (invalid_request on %s)', async (body, field) => {
    const answer = await call('POST', '/v1/webhooks', body);
    expect([answer.status, answer.body.error.code, answer.body.error.details]).toEqual([400, 'invalid_request', { in: 'body', field }]);
  });

  it('refuses an empty change, and a body that is not JSON', async () => {
    const { body: hook } = await call('POST', '/v1/webhooks', { url: 'https://hooks.example.com/e', events: ['video.ready'] });
    expect((await call('PATCH', `/v1/webhooks/${hook.id}`, {})).body.error.code).toBe('invalid_request');
    expect((await call('POST', '/v1/webhooks', 'url=x', API_KEY, 'application/x-www-form-urlencoded')).status).toBe(415);
  });

  it('pages through subscriptions newest first', async () => {
    const key = 'test-key-alice';
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await call('POST', '/v1/webhooks', { url: `https://hooks.example.com/page/${i}`, events: ['video.ready'] }, key)).body.id);
    const first = await call('GET', '/v1/webhooks?limit=2', undefined, key);
    expect(first.body.items.map((item: { id: string }) => item.id)).toEqual([made[2], made[1]]);
    const second = await call('GET', `/v1/webhooks?limit=2&cursor=${first.body.nextCursor}`, undefined, key);
    expect(second.body.items[0].id).toBe(made[0]);
    expect((await call('GET', '/v1/webhooks?cursor=bogus')).body.error.code).toBe('invalid_cursor');
  });

  it('rotates a secret: a new one, and until when the old one still signs', async () => {
    const { body: hook } = await call('POST', '/v1/webhooks', { url: 'https://hooks.example.com/f', events: ['video.ready'] });
    const { status, body } = await call('POST', `/v1/webhooks/${hook.id}/rotate-secret`);
    expect(status).toBe(200);
    expect(body.secret).toMatch(/^whsec_/);
    expect(body.secret).not.toBe(hook.secret);
    expect(Date.parse(body.previousSecretExpiresAt)).toBeGreaterThan(Date.now());
    expect((await call('GET', `/v1/webhooks/${hook.id}`)).body.previousSecretExpiresAt).toBe(body.previousSecretExpiresAt);
  });
});
