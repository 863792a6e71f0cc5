import { randomUUID } from 'node:crypto';
import { IdempotencyKeys } from '../src/uploads/idempotency';
import { startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { videoLike } from '../../../test/support/upload-fixtures';

const MiB = 1024 * 1024;

/** Owners of their own, so that no other test's uploads count against these quotas. */
function owners() {
  const suffix = randomUUID().slice(0, 8);
  return { carol: `key-carol-${suffix}`, dave: `key-dave-${suffix}`, ids: { carol: `carol-${suffix}`, dave: `dave-${suffix}` } };
}

async function post(api: RunningApi, apiKey: string, bytes: Buffer, options: { key?: string; title?: string } = {}) {
  const form = new FormData();
  if (options.title) form.append('title', options.title);
  form.append('file', new Blob([bytes]), 'clip.mp4');
  const response = await fetch(`${api.baseUrl}/v1/videos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, ...(options.key ? { 'idempotency-key': options.key } : {}) },
    body: form,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/**
 * In the calling `describe`: an API that knows carol and dave, on a bucket of
 * its own, started before its tests; their videos and the API go after them.
 */
function apiOfItsOwn(name: string, env: NodeJS.ProcessEnv = {}) {
  const config = testConfig(uniquePrefix(name), { S3_BUCKET: `${name}-${Date.now().toString(36)}`, ...env });
  const who = owners();
  const own = { config, who, api: undefined as unknown as RunningApi };
  beforeAll(async () => {
    own.api = await startUploadApi(config, { apiKeys: new Map([[who.carol, who.ids.carol], [who.dave, who.ids.dave]]) });
  });
  afterAll(async () => {
    for (const video of await own.api.prisma.video.findMany({ where: { bucket: config.storage.bucket } })) await own.api.removeVideo({ id: video.id, object: { key: video.objectKey } });
    await own.api?.close();
  });
  return own;
}

describe('Idempotency-Key on POST /v1/videos', () => {
  const own = apiOfItsOwn('idem');
  const { config, who } = own;

  it('the same key and upload twice: one video, the same answer, marked as replayed', async () => {
    const bytes = await videoLike(300_000);
    const first = await post(own.api, who.carol, bytes, { key: 'k-1', title: 'Once' });
    expect(first.status).toBe(201);
    const second = await post(own.api, who.carol, bytes, { key: 'k-1', title: 'Once' });
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await own.api.prisma.video.count({ where: { ownerId: who.ids.carol, bucket: config.storage.bucket } })).toBe(1);
    expect(await own.api.storage.listKeys()).toEqual([first.body.object.key]);
    expect(await own.api.prisma.outboxEvent.count({ where: { key: first.body.id } })).toBe(1);
  });

  it('the same key with another file or title is refused, and stores nothing', async () => {
    const keysBefore = await own.api.storage.listKeys();
    const bytes = await videoLike(200_000);
    expect((await post(own.api, who.carol, bytes, { key: 'k-2', title: 'A' })).status).toBe(201);
    const otherTitle = await post(own.api, who.carol, bytes, { key: 'k-2', title: 'B' });
    expect([otherTitle.status, otherTitle.body.error.code]).toEqual([422, 'idempotency_key_reused']);
    const otherFile = await post(own.api, who.carol, await videoLike(200_000), { key: 'k-2', title: 'A' });
    expect([otherFile.status, otherFile.body.error.code]).toEqual([422, 'idempotency_key_reused']);
    expect((await own.api.storage.listKeys()).length).toBe(keysBefore.length + 1);
    expect(await own.api.storage.listOpenMultipartUploads()).toEqual([]);
  });

  it('two concurrent requests with one key make one video; the other waits or is told the first is in progress', async () => {
    const bytes = await videoLike(6 * MiB);
    const answers = await Promise.all([post(own.api, who.carol, bytes, { key: 'k-3' }), post(own.api, who.carol, bytes, { key: 'k-3' })]);
    const made = answers.filter((answer) => answer.status === 201);
    expect(made.length).toBeGreaterThanOrEqual(1);
    expect(new Set(made.map((answer) => answer.body.id)).size).toBe(1);
    for (const other of answers.filter((answer) => answer.status !== 201)) {
      expect([other.status, other.body.error.code]).toEqual([409, 'idempotency_in_progress']);
      expect(Number(other.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await own.api.prisma.video.count({ where: { ownerId: who.ids.carol, sha256: made[0]!.body.object.sha256 } })).toBe(1);
  });

  it('keys are each owner’s own', async () => {
    const bytes = await videoLike(100_000);
    const carol = await post(own.api, who.carol, bytes, { key: 'shared-key' });
    const dave = await post(own.api, who.dave, bytes, { key: 'shared-key' });
    expect([carol.status, dave.status]).toEqual([201, 201]);
    expect(dave.body.id).not.toBe(carol.body.id);
  });

  it('a key expires after a day', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const keys = new IdempotencyKeys(own.api.prisma, () => now);
    const owner = `expiry-${randomUUID()}`;
    expect(await keys.begin(owner, 'k', 'op')).toEqual({ kind: 'first' });
    await keys.finish(owner, 'k', 'fp', { status: 201, body: { id: 1 } });
    expect(await keys.begin(owner, 'k', 'op')).toMatchObject({ kind: 'done', answer: { status: 201, body: { id: 1 } } });
    now = new Date('2026-01-02T00:00:01Z');
    expect(await keys.begin(owner, 'k', 'op')).toEqual({ kind: 'first' });
    await keys.release(owner, 'k');
  });
});

describe('quotas on POST /v1/videos', () => {
  const own = apiOfItsOwn('quota', { QUOTA_STORED_BYTES: String(3 * MiB), QUOTA_UPLOADS_PER_DAY: '2' });
  const { who } = own;

  it('a declared size over the stored-bytes quota is refused before any byte is stored', async () => {
    const response = await post(own.api, who.carol, await videoLike(5 * MiB));
    expect([response.status, response.body.error.code]).toEqual([413, 'storage_quota_exceeded']);
    expect(await own.api.storage.listKeys()).toEqual([]);
    expect(await own.api.storage.listOpenMultipartUploads()).toEqual([]);
  });

  it('the stored bytes are enforced at completion when the size was not declared', async () => {
    expect((await post(own.api, who.dave, await videoLike(2 * MiB))).status).toBe(201);
    // Dave has 2 MiB of 3: a second 2 MiB file, streamed without a Content-Length, is refused once its size is known.
    const form = new FormData();
    form.append('file', new Blob([await videoLike(2 * MiB)]), 'clip.mp4');
    const encoded = new Response(form);
    const response = await fetch(`${own.api.baseUrl}/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${who.dave}`, 'content-type': encoded.headers.get('content-type')! },
      body: encoded.body,
      duplex: 'half',
    } as RequestInit);
    const answer = (await response.json()) as any;
    expect([response.status, answer.error.code]).toEqual([413, 'storage_quota_exceeded']);
    expect((await own.api.storage.listKeys()).length).toBe(1);
    expect(await own.api.storage.listOpenMultipartUploads()).toEqual([]);
  });

  it('the daily count of uploads is enforced, with Retry-After', async () => {
    expect((await post(own.api, who.carol, await videoLike(100_000))).status).toBe(201);
    expect((await post(own.api, who.carol, await videoLike(100_000))).status).toBe(201);
    const third = await post(own.api, who.carol, await videoLike(100_000));
    expect([third.status, third.body.error.code]).toEqual([429, 'upload_quota_exceeded']);
    const retryAfter = Number(third.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(23 * 60 * 60);
    expect(retryAfter).toBeLessThanOrEqual(24 * 60 * 60);
  });
});
