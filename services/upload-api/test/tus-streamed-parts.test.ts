import http from 'node:http';
import { HeadObjectCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { TcpProxy } from '../../../test/support/network';
import { API_KEY, eventually, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { sha256, storedSha256, videoLike } from '../../../test/support/upload-fixtures';

const MiB = 1024 * 1024;
/** The store's part size for these uploads (s3-store's preferred 8 MiB: each is over 8 MiB and under 78 GiB). */
const PART = 8 * MiB;

/**
 * The tus store streams a request's whole parts straight to storage and keeps
 * only a request's tail shorter than a part aside (`<key>.part`). These
 * requests are cut where the parts are, and the stored parts are read back
 * between them: what is stored, in order, is what the offset says.
 */
describe('tus parts streamed from the request', () => {
  // Storage is reached through a proxy the last test takes down mid-part.
  const base = testConfig(uniquePrefix('tus-parts'), { S3_BUCKET: `tus-parts-${Date.now().toString(36)}` });
  const s3 = new URL(base.storage.endpoint);
  const proxy = new TcpProxy({ host: s3.hostname, port: Number(s3.port) });
  const config = { ...base, storage: { ...base.storage, endpoint: '' } };
  let api: RunningApi;
  let inspected: jest.SpyInstance;

  beforeAll(async () => {
    await proxy.up();
    config.storage.endpoint = `http://127.0.0.1:${proxy.port}`;
    api = await startUploadApi(config, { maxUploadBytes: 64 * MiB });
  });
  beforeEach(() => {
    // The completion reads the object back only when the API did not store every byte itself.
    inspected = jest.spyOn(api.storage, 'inspectVideo');
  });
  afterEach(() => inspected.mockRestore());
  afterAll(async () => {
    await api?.close();
    await proxy.down();
  });

  const create = async (size: number) => {
    const response = await fetch(`${api.baseUrl}/v1/uploads`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, 'upload-length': String(size) },
    });
    expect(response.status).toBe(201);
    const url = new URL(response.headers.get('location')!, api.baseUrl).toString();
    return { url, key: `videos/${url.split('/').pop()}/original` };
  };
  const patch = (url: string, offset: number, body: Buffer) =>
    fetch(url, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body,
    });
  const offsetOf = async (url: string) => {
    const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}` } });
    expect(head.status).toBe(200);
    return Number(head.headers.get('upload-offset'));
  };
  /** The sizes of the multipart upload's parts, in order, and the size of the tail kept aside (0: none). */
  const stored = async (key: string) => {
    const info = await api.storage.client.send(new HeadObjectCommand({ Bucket: api.storage.bucket, Key: `${key}.info` }));
    const listed = await api.storage.client.send(new ListPartsCommand({ Bucket: api.storage.bucket, Key: key, UploadId: info.Metadata!['upload-id'] }));
    const tail = await api.storage.client.send(new HeadObjectCommand({ Bucket: api.storage.bucket, Key: `${key}.part` })).then(
      (head) => head.ContentLength!,
      () => 0,
    );
    return { parts: (listed.Parts ?? []).map((part) => part.Size), tail };
  };
  /** The final answer's video holds exactly `bytes`; `readBack`: whether the completion had to read the object back to know that. */
  const expectVideoOf = async (response: Response, bytes: Buffer, { readBack = false } = {}) => {
    expect(response.status).toBe(204);
    expect(inspected.mock.calls.length).toBe(readBack ? 1 : 0);
    inspected.mockClear();
    const videoId = response.headers.get('video-id')!;
    const video = await api.prisma.video.findUniqueOrThrow({ where: { id: videoId } });
    expect({ size: video.sizeBytes, sha256: video.sha256 }).toEqual({ size: BigInt(bytes.length), sha256: sha256(bytes) });
    expect(await storedSha256(api, video.objectKey)).toBe(sha256(bytes));
    await api.removeVideo({ id: videoId, object: { key: video.objectKey } });
  };

  it('requests of whole parts store parts and nothing aside, up to the short last part', async () => {
    const bytes = await videoLike(3 * PART + 4321);
    const { url, key } = await create(bytes.length);

    const first = await patch(url, 0, bytes.subarray(0, 2 * PART));
    expect(first.status).toBe(204);
    expect(first.headers.get('upload-offset')).toBe(String(2 * PART));
    expect(await stored(key)).toEqual({ parts: [PART, PART], tail: 0 });

    await expectVideoOf(await patch(url, 2 * PART, bytes.subarray(2 * PART)), bytes);
  });

  it('an upload created with its first bytes (creation-with-upload) streams them the same way', async () => {
    const bytes = await videoLike(2 * PART + 3 * MiB);
    const created = await fetch(`${api.baseUrl}/v1/uploads`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, 'upload-length': String(bytes.length), 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(0, PART + MiB),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('upload-offset')).toBe(String(PART + MiB));
    const url = new URL(created.headers.get('location')!, api.baseUrl).toString();
    expect(await stored(`videos/${url.split('/').pop()}/original`)).toEqual({ parts: [PART], tail: MiB });

    await expectVideoOf(await patch(url, PART + MiB, bytes.subarray(PART + MiB)), bytes);
  });

  it('an upload of deferred length is stored in the same 8 MiB parts, and ends when its last request declares the length', async () => {
    const bytes = await videoLike(2 * PART + 3 * MiB + 5);
    const created = await fetch(`${api.baseUrl}/v1/uploads`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, 'upload-defer-length': '1' },
    });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, api.baseUrl).toString();

    expect((await patch(url, 0, bytes.subarray(0, PART + MiB))).status).toBe(204);
    expect(await stored(`videos/${url.split('/').pop()}/original`)).toEqual({ parts: [PART], tail: MiB });
    const last = await fetch(url, {
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        authorization: `Bearer ${API_KEY}`,
        'upload-offset': String(PART + MiB),
        'upload-length': String(bytes.length),
        'content-type': 'application/offset+octet-stream',
      },
      body: bytes.subarray(PART + MiB),
    });
    await expectVideoOf(last, bytes);
  });

  it('a request ending in a tail keeps it aside, and the next request completes that part first', async () => {
    const bytes = await videoLike(3 * PART + 2 * MiB + 99);
    const { url, key } = await create(bytes.length);
    const cuts = [0, PART + 2 * MiB, 2 * PART + 3 * MiB, bytes.length];

    // One whole part, then 2 MiB aside.
    expect((await patch(url, cuts[0]!, bytes.subarray(cuts[0], cuts[1]))).status).toBe(204);
    expect(await stored(key)).toEqual({ parts: [PART], tail: 2 * MiB });
    expect(await offsetOf(url)).toBe(cuts[1]);
    // 9 MiB: 6 complete the part with the 2 aside, 3 are aside.
    expect((await patch(url, cuts[1]!, bytes.subarray(cuts[1], cuts[2]))).status).toBe(204);
    expect(await stored(key)).toEqual({ parts: [PART, PART], tail: 3 * MiB });
    expect(await offsetOf(url)).toBe(cuts[2]);
    // The rest: 5 MiB complete a part, 2 MiB + 99 bytes are the last.
    await expectVideoOf(await patch(url, cuts[2]!, bytes.subarray(cuts[2])), bytes);
  });

  it('tails of two uploads at once, read back into reused buffers, each begin their own upload\'s next part', async () => {
    // A's tail (4 MiB) is read first; B's (1 MiB) then gets a buffer that held A's, or a new one while A's is in use.
    const [a, b] = [await videoLike(2 * PART + 4 * MiB), await videoLike(2 * PART + 1 * MiB + 5)];
    const [uploadA, uploadB] = [await create(a.length), await create(b.length)];
    const [cutA, cutB] = [PART + 4 * MiB, PART + 1 * MiB];
    expect((await Promise.all([patch(uploadA.url, 0, a.subarray(0, cutA)), patch(uploadB.url, 0, b.subarray(0, cutB))])).map((r) => r.status)).toEqual([204, 204]);
    expect([(await stored(uploadA.key)).tail, (await stored(uploadB.key)).tail]).toEqual([4 * MiB, 1 * MiB]);
    const [lastA, lastB] = await Promise.all([patch(uploadA.url, cutA, a.subarray(cutA)), patch(uploadB.url, cutB, b.subarray(cutB))]);
    await expectVideoOf(lastA, a);
    await expectVideoOf(lastB, b);
    // Then one after the other: B's tail in the buffer A's just left, which held more bytes.
    const [c, d] = [await videoLike(PART + 4 * MiB + 1), await videoLike(PART + 2 * MiB + 3)];
    for (const [bytes, cut] of [[c, 4 * MiB], [d, 1 * MiB]] as const) {
      const { url } = await create(bytes.length);
      expect((await patch(url, 0, bytes.subarray(0, cut))).status).toBe(204);
      await expectVideoOf(await patch(url, cut, bytes.subarray(cut)), bytes);
    }
  });

  it('a request the client cuts stores the parts it completed; the tail it began with stays; resumed, the object is identical', async () => {
    const bytes = await videoLike(4 * PART + 777);
    const { url, key } = await create(bytes.length);
    /** A PATCH that declares the rest of the file, sends `sent` bytes of it and goes away; resolves once the API took them. */
    const cutPatch = (offset: number, sent: number) =>
      new Promise<void>((resolve) => {
        const request = http.request(url, {
          method: 'PATCH',
          headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': bytes.length - offset },
        });
        request.on('error', () => resolve());
        request.write(bytes.subarray(offset, offset + sent), () => setTimeout(() => request.destroy(), 200));
      });
    // HEAD waits for a cut request to store what it will.
    const settledAt = (offset: number) => eventually(async () => (await offsetOf(url)) === offset, 10_000, `the offset to be ${offset}`);

    expect((await patch(url, 0, bytes.subarray(0, PART + 2 * MiB))).status).toBe(204);
    // Cut within the part that begins with the 2 MiB tail: nothing more is stored, and the tail is still there.
    await cutPatch(PART + 2 * MiB, 4 * MiB);
    await settledAt(PART + 2 * MiB);
    expect(await stored(key)).toEqual({ parts: [PART], tail: 2 * MiB });
    // Cut a part and a half in: that part (tail and all) is stored, nothing of the next.
    await cutPatch(PART + 2 * MiB, 6 * MiB + PART / 2);
    await settledAt(2 * PART);
    expect(await stored(key)).toEqual({ parts: [PART, PART], tail: 0 });

    await expectVideoOf(await patch(url, 2 * PART, bytes.subarray(2 * PART)), bytes);
  });

  it('a tail of at least S3\'s 5 MiB part minimum is stored as a short part, and the next request goes on from it', async () => {
    const bytes = await videoLike(3 * PART + 6 * MiB + 11);
    const { url, key } = await create(bytes.length);

    expect((await patch(url, 0, bytes.subarray(0, PART + 6 * MiB))).status).toBe(204);
    expect(await stored(key)).toEqual({ parts: [PART, 6 * MiB], tail: 0 });
    await expectVideoOf(await patch(url, PART + 6 * MiB, bytes.subarray(PART + 6 * MiB)), bytes);
  });

  it('bytes another instance stored (or a chunked request) make the completion read the object back', async () => {
    const bytes = await videoLike(3 * PART + 2 * MiB + 7);
    const other = await startUploadApi(config, { maxUploadBytes: 64 * MiB });
    try {
      const { url } = await create(bytes.length);
      expect((await patch(url, 0, bytes.subarray(0, PART))).status).toBe(204);
      // The middle part through another API instance (as a load balancer may send it).
      expect((await patch(url.replace(api.baseUrl, other.baseUrl), PART, bytes.subarray(PART, 2 * PART))).status).toBe(204);
      await expectVideoOf(await patch(url, 2 * PART, bytes.subarray(2 * PART)), bytes, { readBack: true });
    } finally {
      await other.close();
    }

    const { url } = await create(bytes.length);
    expect((await patch(url, 0, bytes.subarray(0, PART))).status).toBe(204);
    // The rest in a chunked request: no length, so s3-store's own way, which the store does not hash.
    const chunked = await new Promise<Response>((resolve, reject) => {
      const request = http.request(url, {
        method: 'PATCH',
        headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, 'upload-offset': String(PART), 'content-type': 'application/offset+octet-stream', 'transfer-encoding': 'chunked' },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(new Response(null, { status: response.statusCode, headers: response.headers as Record<string, string> }));
      });
      request.on('error', reject);
      request.write(bytes.subarray(PART, 2 * PART));
      request.end(bytes.subarray(2 * PART));
    });
    await expectVideoOf(chunked, bytes, { readBack: true });
  });

  it('storage failing within a part fails the request (503 storage_unavailable); the offset is the parts stored before it, and the upload resumes', async () => {
    const bytes = await videoLike(3 * PART + 555);
    const { url, key } = await create(bytes.length);

    const request = http.request(url, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${API_KEY}`, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': 2 * PART },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve) => {
      request.on('response', async (response) => {
        const chunks: Buffer[] = [];
        for await (const chunk of response) chunks.push(chunk as Buffer);
        resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString() });
      });
      request.on('error', () => resolve({ status: 0, body: '' }));
    });
    // The first part stored, the second on its way: storage goes away.
    request.write(bytes.subarray(0, PART + 2 * MiB));
    await eventually(async () => (await stored(key)).parts.length === 1, 10_000, 'the first part to be stored');
    // Time for the API to open the second part's request and send it the 2 MiB it has (on a busy machine the
    // first part's answer can reach this test before the second request exists, which would then just succeed).
    await new Promise((resolve) => setTimeout(resolve, 500));
    await proxy.down();
    await proxy.up();
    request.end(bytes.subarray(PART + 2 * MiB, 2 * PART));
    // Storage's failure, said as every storage outage is: worth a retry (tus-js-client retries a 5xx).
    const { status, body } = await answered;
    expect([status, (JSON.parse(body) as { error: { code: string } }).error.code]).toEqual([503, 'storage_unavailable']);

    expect(await offsetOf(url)).toBe(PART);
    expect(await stored(key)).toEqual({ parts: [PART], tail: 0 });
    await expectVideoOf(await patch(url, PART, bytes.subarray(PART)), bytes);
  });
});
