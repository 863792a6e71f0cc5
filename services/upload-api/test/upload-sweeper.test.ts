import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createPrismaClient } from '@video-pipeline/db';
import { runOps } from '../../../tools/ops/src/main';
import { UploadSweeper } from '../src/uploads/sweeper';
import { startUploadApi, testLogger, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { expectNothingLeft, videoLike } from '../../../test/support/upload-fixtures';

const MiB = 1024 * 1024;
const KEY = 'sweeper-key';

describe('the sweeper of abandoned uploads', () => {
  // Uploads expire 7.2 s after they start.
  const env = { S3_BUCKET: `sweep-${Date.now().toString(36)}`, UPLOAD_EXPIRY_HOURS: '0.002' };
  const config = testConfig(uniquePrefix('sweep'), env);
  const owner = `sweeper-${randomUUID().slice(0, 8)}`;
  let api: RunningApi;

  beforeAll(async () => {
    api = await startUploadApi(config, { apiKeys: new Map([[KEY, owner]]) });
  });
  afterAll(async () => {
    await api?.close();
  });

  /** A tus upload with 6 MiB stored (a part in the multipart upload, the rest in `.part`), then abandoned. */
  async function abandonedTusUpload(): Promise<string> {
    const bytes = await videoLike(20 * MiB);
    const headers = { authorization: `Bearer ${KEY}`, 'tus-resumable': '1.0.0' };
    const created = await fetch(`${api.baseUrl}/v1/uploads`, { method: 'POST', headers: { ...headers, 'upload-length': String(bytes.length) } });
    const url = new URL(created.headers.get('location')!, api.baseUrl);
    const patched = await fetch(url, {
      method: 'PATCH',
      headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(0, 6 * MiB),
    });
    expect(patched.status).toBe(204);
    return url.pathname.split('/').pop()!;
  }

  /** A direct upload with one part sent, then abandoned. */
  async function abandonedDirectUpload(): Promise<string> {
    const start = await fetch(`${api.baseUrl}/v1/uploads/direct`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sizeBytes: 12 * MiB, partSizeBytes: 5 * MiB }),
    });
    const body = (await start.json()) as { id: string; parts: { url: string }[] };
    expect((await fetch(body.parts[0]!.url, { method: 'PUT', body: await videoLike(5 * MiB) })).status).toBe(200);
    return body.id;
  }

  it('sweepers running at once remove each expired upload once: no multipart upload, no partial object, no row', async () => {
    const ids = [await abandonedTusUpload(), await abandonedDirectUpload()];
    expect(await api.storage.listOpenMultipartUploads()).toHaveLength(2);
    expect(await api.prisma.pendingUpload.count({ where: { ownerId: owner } })).toBe(2);
    // Not yet expired: nothing is swept.
    const early = new UploadSweeper({ prisma: api.prisma, storage: api.storage, logger: testLogger(), clock: () => new Date(Date.now() - 60_000), changeLogRetentionMs: config.uploads.changeLogRetentionMs });
    expect((await early.sweep()).uploads).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 7500));

    const prismas = [createPrismaClient({ databaseUrl: config.database.url }), createPrismaClient({ databaseUrl: config.database.url })];
    try {
      const results = await Promise.all(prismas.map((prisma) => new UploadSweeper({ prisma, storage: api.storage, logger: testLogger(), changeLogRetentionMs: config.uploads.changeLogRetentionMs }).sweep()));
      expect(results.reduce((sum, result) => sum + result.uploads, 0)).toBe(2);
    } finally {
      await Promise.all(prismas.map((prisma) => prisma.$disconnect()));
    }
    await expectNothingLeft(api, config, [owner]);
    // The swept tus upload is gone for its client too.
    const head = await fetch(`${api.baseUrl}/v1/uploads/${ids[0]}`, { method: 'HEAD', headers: { authorization: `Bearer ${KEY}`, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(404);
  });

  it('`ops sweep-uploads` runs it by hand', async () => {
    await abandonedDirectUpload();
    await new Promise((resolve) => setTimeout(resolve, 7500));
    let printed = '';
    const stdout = new Writable({ write: (chunk, _encoding, done) => ((printed += String(chunk)), done()) });
    const stderr = new Writable({ write: (_chunk, _encoding, done) => done() });
    const code = await runOps(['sweep-uploads', '--json'], { ...process.env, KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix, ...env }, { stdout, stderr });
    expect(code).toBe(0);
    expect(JSON.parse(printed).uploads).toBeGreaterThanOrEqual(1);
    await expectNothingLeft(api, config, [owner]);
  });
});
