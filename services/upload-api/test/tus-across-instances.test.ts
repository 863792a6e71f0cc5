import http from 'node:http';
import { HeadObjectCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { API_KEY, eventually, startUploadApi, testLogger, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { sha256, storedSha256, videoLike } from '../../../test/support/upload-fixtures';
import { UploadSweeper } from '../src/uploads/sweeper';
import { PostgresLocker, tusLockName } from '../src/uploads/tus-locker';

const MiB = 1024 * 1024;
const PART = 8 * MiB;
const tusHeaders = { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}` };

/**
 * Two API instances on one database and bucket, with no sticky routing: an
 * upload's requests take turns through the Postgres locker wherever they land.
 */
describe('a tus upload whose requests land on different API instances', () => {
  const config = testConfig(uniquePrefix('tus-instances'), { S3_BUCKET: `tus-instances-${Date.now().toString(36)}` });
  let a: RunningApi;
  let b: RunningApi;

  beforeAll(async () => {
    a = await startUploadApi(config, { maxUploadBytes: 64 * MiB });
    b = await startUploadApi(config, { maxUploadBytes: 64 * MiB });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** Whether some session holds the upload's advisory lock. */
  const lockHeld = async (uploadId: string) => {
    const rows = await a.prisma.$queryRaw<{ held: boolean }[]>`
      SELECT count(*) > 0 AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(${tusLockName(`videos/${uploadId}/original`)}, 0)`;
    return rows[0]!.held;
  };

  /** How many parts of the upload's multipart upload are stored. */
  const storedParts = async (key: string) => {
    const info = await a.storage.client.send(new HeadObjectCommand({ Bucket: a.storage.bucket, Key: `${key}.info` }));
    const listed = await a.storage.client.send(new ListPartsCommand({ Bucket: a.storage.bucket, Key: key, UploadId: info.Metadata!['upload-id'] }));
    return listed.Parts?.length ?? 0;
  };

  /** A PATCH to `api` that declares the rest of the file from `offset`, sends `sent` bytes and stalls; `endedAt` is when its answer or its end came. */
  const stalledPatch = (api: RunningApi, path: string, bytes: Buffer, offset: number, sent: number) => {
    const stalled = { endedAt: undefined as number | undefined, ended: undefined as unknown as Promise<void>, destroy: () => request.destroy() };
    const request = http.request(new URL(path, api.baseUrl), {
      method: 'PATCH',
      headers: { ...tusHeaders, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': bytes.length - offset },
    });
    stalled.ended = new Promise<void>((resolve) => {
      const ended = () => {
        stalled.endedAt ??= Date.now();
        resolve();
      };
      request.on('response', (response) => {
        response.resume();
        ended();
      });
      request.on('error', ended);
      request.on('close', ended);
    });
    request.write(bytes.subarray(offset, offset + sent));
    return stalled;
  };

  /**
   * An upload on A with a part stored and 2 MiB aside (`.part`, which the next request takes up and puts back if
   * it is cut), and a second PATCH on A that sent 3 MiB and stalls, holding the upload's lock.
   */
  const uploadWithStalledPatch = async () => {
    const bytes = await videoLike(3 * PART);
    const created = await fetch(`${a.baseUrl}/v1/uploads`, { method: 'POST', headers: { ...tusHeaders, 'upload-length': String(bytes.length) } });
    const path = created.headers.get('location')!;
    const uploadId = path.split('/').pop()!;
    const first = await fetch(new URL(path, a.baseUrl), {
      method: 'PATCH',
      headers: { ...tusHeaders, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(0, PART + 2 * MiB),
    });
    expect(first.status).toBe(204);
    const stalled = stalledPatch(a, path, bytes, PART + 2 * MiB, 3 * MiB);
    await eventually(() => lockHeld(uploadId), 10_000, 'A’s PATCH to hold the upload’s lock');
    return { path, uploadId, key: `videos/${uploadId}/original`, stalled };
  };

  it('a HEAD on B waits until the stalled PATCH on A has been asked to stop and has stored what it had; the upload completes byte-identical', async () => {
    const bytes = await videoLike(2 * PART + 3 * MiB);
    const created = await fetch(`${a.baseUrl}/v1/uploads`, { method: 'POST', headers: { ...tusHeaders, 'upload-length': String(bytes.length) } });
    expect(created.status).toBe(201);
    const path = created.headers.get('location')!;
    const uploadId = path.split('/').pop()!;

    // A client sends a part and a half to A, then stalls (its connection hangs; it will give up and resume elsewhere).
    const stalled = stalledPatch(a, path, bytes, 0, PART + PART / 2);
    await eventually(async () => (await storedParts(`videos/${uploadId}/original`)) === 1, 10_000, 'A to store the first part');
    expect(await lockHeld(uploadId)).toBe(true);

    // The client resumes on B: B's HEAD asks A to let go and answers only after A's request has ended.
    const head = await fetch(new URL(path, b.baseUrl), { method: 'HEAD', headers: tusHeaders });
    const headAnsweredAt = Date.now();
    expect(head.status).toBe(200);
    expect(stalled.endedAt).toBeDefined();
    expect(stalled.endedAt!).toBeLessThanOrEqual(headAnsweredAt);
    // What A stored before it stopped: its whole part, not the half part it was feeding.
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBe(PART);
    await stalled.ended;
    stalled.destroy();

    const rest = await fetch(new URL(path, b.baseUrl), {
      method: 'PATCH',
      headers: { ...tusHeaders, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(offset),
    });
    expect(rest.status).toBe(204);
    const videoId = rest.headers.get('video-id')!;
    const videos = await a.prisma.video.findMany({ where: { id: videoId } });
    expect(videos).toHaveLength(1);
    expect({ size: videos[0]!.sizeBytes, sha256: videos[0]!.sha256 }).toEqual({ size: BigInt(bytes.length), sha256: sha256(bytes) });
    expect(await storedSha256(a, videos[0]!.objectKey)).toBe(sha256(bytes));
    expect(await a.prisma.uploadCompletion.count({ where: { uploadId } })).toBe(1);
    // A, asked afterwards, knows it as the same video.
    const headOnA = await fetch(new URL(path, a.baseUrl), { method: 'HEAD', headers: tusHeaders });
    expect(headOnA.headers.get('video-id')).toBe(videoId);
    expect(await lockHeld(uploadId)).toBe(false);
    await a.removeVideo({ id: videoId, object: { key: videos[0]!.objectKey } });
  }, 60_000);
  it('a request that cannot get the upload’s lock in time is answered 503 temporarily_unavailable, and may retry', async () => {
    const impatient = await startUploadApi(config, { maxUploadBytes: 64 * MiB, tusLockTimeoutMs: 1_000 });
    // Another instance whose request on the upload never lets go (hung, say).
    const other = new PostgresLocker({ databaseUrl: config.database.url, logger: testLogger() });
    try {
      const created = await fetch(`${a.baseUrl}/v1/uploads`, { method: 'POST', headers: { ...tusHeaders, 'upload-length': String(PART) } });
      const path = created.headers.get('location')!;
      const hung = other.newLock(`videos/${path.split('/').pop()}/original`);
      await hung.lock(new AbortController().signal, () => undefined);

      const expectBusy = (response: Response) => {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('1');
      };
      // A HEAD's answer has no body: its status and Retry-After say it.
      expectBusy(await fetch(new URL(path, impatient.baseUrl), { method: 'HEAD', headers: tusHeaders }));
      const patch = await fetch(new URL(path, impatient.baseUrl), {
        method: 'PATCH',
        headers: { ...tusHeaders, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        body: Buffer.alloc(1024),
      });
      expectBusy(patch);
      expect(((await patch.json()) as { error: { code: string } }).error.code).toBe('temporarily_unavailable');

      await hung.unlock();
      const head = await fetch(new URL(path, impatient.baseUrl), { method: 'HEAD', headers: tusHeaders });
      expect(head.status).toBe(200);
      expect(head.headers.get('upload-offset')).toBe('0');
      expect((await fetch(new URL(path, a.baseUrl), { method: 'DELETE', headers: tusHeaders })).status).toBe(204);
    } finally {
      await other.close();
      await impatient.close();
    }
  }, 30_000);
  it('a DELETE on B waits for the PATCH on A to stop, then nothing of the upload is left', async () => {
    const { path, uploadId, key, stalled } = await uploadWithStalledPatch();

    const removed = await fetch(new URL(path, b.baseUrl), { method: 'DELETE', headers: tusHeaders });
    expect(removed.status).toBe(204);
    expect(stalled.endedAt).toBeDefined();
    stalled.destroy();
    await eventually(async () => !(await lockHeld(uploadId)), 10_000, 'A’s PATCH to let go');
    expect(await a.storage.listKeys(`videos/${uploadId}/`)).toEqual([]);
    expect(await a.storage.listOpenMultipartUploads(key)).toEqual([]);
    expect(await a.prisma.pendingUpload.count({ where: { id: uploadId } })).toBe(0);
  }, 60_000);

  it('the sweeper (here as `ops sweep-uploads` would run it) waits for a PATCH still writing to an expired upload, then nothing is left', async () => {
    const { path, uploadId, key, stalled } = await uploadWithStalledPatch();

    // Expired now, for the sweeper.
    await a.prisma.pendingUpload.updateMany({ where: { id: uploadId }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    const locker = new PostgresLocker({ databaseUrl: config.database.url, logger: testLogger() });
    try {
      const swept = await new UploadSweeper({ prisma: a.prisma, storage: a.storage, locker, logger: testLogger(), changeLogRetentionMs: config.uploads.changeLogRetentionMs }).sweep();
      expect(swept.uploads).toBeGreaterThanOrEqual(1);
      // The sweep got the lock only once A's request had been asked to stop and had ended.
      expect(stalled.endedAt).toBeDefined();
    } finally {
      await locker.close();
    }
    stalled.destroy();
    await eventually(async () => !(await lockHeld(uploadId)), 10_000, 'A’s PATCH to let go');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await a.storage.listKeys(`videos/${uploadId}/`)).toEqual([]);
    expect(await a.storage.listOpenMultipartUploads(key)).toEqual([]);
    expect(await a.prisma.pendingUpload.count({ where: { id: uploadId } })).toBe(0);
  }, 60_000);
});
