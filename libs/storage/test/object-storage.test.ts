import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import fs from 'node:fs/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { INSPECT_RANGE_BYTES, ObjectStorage, PART_QUEUE_SIZE, PART_SIZE_BYTES, createS3Client } from '@video-pipeline/storage';
import { makeVideo } from '../../../test/support/fixtures';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

/** A real MP4 head followed by noise, fed in 1 MiB chunks. */
async function videoLikeStream(totalBytes: number): Promise<Readable> {
  const head = (await fs.readFile(await makeVideo({ seconds: 1 }))).subarray(0, 8 * 1024);
  const bytes = Buffer.concat([head, randomBytes(totalBytes - head.length)]);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 1024 * 1024) chunks.push(bytes.subarray(offset, offset + 1024 * 1024));
  return Readable.from(chunks);
}

/** Requests that change state; the checks below only list. */
/** The stored object's bytes. */
async function readObject(storage: ObjectStorage, key: string): Promise<Buffer> {
  const answer = await storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

const writes = new Set(['PutObjectCommand', 'CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand', 'AbortMultipartUploadCommand', 'DeleteObjectCommand']);

describe('ObjectStorage.uploadVideo on a real S3 server', () => {
  const config = testConfig(uniquePrefix('storage'), { S3_BUCKET: `storage-${Date.now().toString(36)}` });
  const client = createS3Client(config.storage);
  const storage = new ObjectStorage(client, config.storage.bucket);
  const traffic = { started: 0, inFlight: 0, partsInFlight: 0, mostPartsInFlight: 0, failPart: 0, slowLastRequest: false };

  beforeAll(async () => {
    await storage.ensureBucket();
    // A slow S3, so failures land while the multipart upload is still being
    // created or parts are on their way: the race in which an upload used to
    // be aborted after its error had already been answered.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!writes.has(context.commandName!)) return next(args);
        traffic.started += 1;
        traffic.inFlight += 1;
        try {
          if (context.commandName === 'CreateMultipartUploadCommand') await sleep(300);
          if (traffic.slowLastRequest && (context.commandName === 'PutObjectCommand' || context.commandName === 'CompleteMultipartUploadCommand')) await sleep(500);
          if (context.commandName !== 'UploadPartCommand') return await next(args);
          traffic.partsInFlight += 1;
          traffic.mostPartsInFlight = Math.max(traffic.mostPartsInFlight, traffic.partsInFlight);
          try {
            await sleep(300);
            if ((args.input as { PartNumber?: number }).PartNumber === traffic.failPart) throw new Error('storage refused the part');
            return await next(args);
          } finally {
            traffic.partsInFlight -= 1;
          }
        } finally {
          traffic.inFlight -= 1;
        }
      },
      { step: 'build', name: 'slowWrites' },
    );
  });
  afterAll(() => client.destroy());

  /** Once uploadVideo has settled, its S3 work is over: nothing in flight, nothing started later, nothing left. */
  async function expectSettledAndNothingLeft(): Promise<void> {
    expect(traffic.inFlight).toBe(0);
    const started = traffic.started;
    expect(await storage.listKeys()).toEqual([]);
    expect(await storage.listOpenMultipartUploads()).toEqual([]);
    await sleep(1000);
    expect(traffic.started).toBe(started);
    expect(await storage.listOpenMultipartUploads()).toEqual([]);
  }

  it('stores a file and reports its size, digest and type', async () => {
    const key = `videos/${Date.now()}/ok`;
    const stored = await storage.uploadVideo(key, await videoLikeStream(PART_SIZE_BYTES * 2 + 123), { maxBytes: 64 * 1024 * 1024 });
    expect(stored).toMatchObject({ key, sizeBytes: PART_SIZE_BYTES * 2 + 123, contentType: 'video/mp4' });
    expect(stored.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await storage.listKeys()).toEqual([key]);
    expect(await storage.listOpenMultipartUploads()).toEqual([]);
    await storage.deleteObject(key);
  });

  it('a file over the limit while S3 is still busy: file_too_large, answered only after the cleanup', async () => {
    const uploading = storage.uploadVideo(`videos/${Date.now()}/too-big`, await videoLikeStream(PART_SIZE_BYTES * 4), { maxBytes: PART_SIZE_BYTES * 3 });
    await expect(uploading).rejects.toMatchObject({ code: 'file_too_large' });
    await expectSettledAndNothingLeft();
  });

  it('a cancelled upload with parts in flight: upload_aborted, answered only after the cleanup', async () => {
    const controller = new AbortController();
    const uploading = storage.uploadVideo(`videos/${Date.now()}/cancelled`, await videoLikeStream(PART_SIZE_BYTES * 4), {
      maxBytes: PART_SIZE_BYTES * 8,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(uploading).rejects.toMatchObject({ code: 'upload_aborted' });
    await expectSettledAndNothingLeft();
  });

  it('a source that fails mid-file: upload_aborted, answered only after the cleanup', async () => {
    const source = await videoLikeStream(PART_SIZE_BYTES * 2);
    const failing = new Readable({ read() {} });
    source.on('data', (chunk: Buffer) => failing.push(chunk));
    source.on('end', () => failing.destroy(new Error('client went away')));
    await expect(storage.uploadVideo(`videos/${Date.now()}/broken`, failing, { maxBytes: PART_SIZE_BYTES * 8 })).rejects.toMatchObject({ code: 'upload_aborted' });
    await expectSettledAndNothingLeft();
  });

  describe('its part buffers, reused from part to part', () => {
    /** A video-like file of `bytes`, as one buffer and as a stream of 64 KiB chunks (an HTTP body's size). */
    async function videoFile(bytes: number): Promise<{ bytes: Buffer; stream: () => Readable }> {
      const head = (await fs.readFile(await makeVideo({ seconds: 1 }))).subarray(0, 8 * 1024);
      const file = Buffer.concat([head, randomBytes(bytes - head.length)]);
      const stream = () => {
        const chunks: Buffer[] = [];
        for (let offset = 0; offset < file.length; offset += 64 * 1024) chunks.push(file.subarray(offset, offset + 64 * 1024));
        return Readable.from(chunks);
      };
      return { bytes: file, stream };
    }
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

    beforeEach(() => {
      traffic.mostPartsInFlight = 0;
      traffic.failPart = 0;
    });

    it.each([
      ['many parts and a tail', PART_SIZE_BYTES * 9 + 12_345],
      ['an exact multiple of the part size', PART_SIZE_BYTES * 5],
      ['less than one part (one PUT)', PART_SIZE_BYTES - 1],
    ])('%s: the object is byte-identical, with at most the queue of parts in flight', async (_name, size) => {
      const file = await videoFile(size);
      const key = `videos/${Date.now()}/reused-${size}`;
      const stored = await storage.uploadVideo(key, file.stream(), { maxBytes: PART_SIZE_BYTES * 16 });
      expect(stored).toMatchObject({ sizeBytes: size, sha256: sha256(file.bytes) });
      expect(sha256(await readObject(storage, key))).toBe(sha256(file.bytes));
      expect(traffic.mostPartsInFlight).toBeLessThanOrEqual(PART_QUEUE_SIZE);
      if (size > PART_SIZE_BYTES * 4) expect(traffic.mostPartsInFlight).toBe(PART_QUEUE_SIZE);
      expect(await storage.listOpenMultipartUploads()).toEqual([]);
      await storage.deleteObject(key);
    });

    it('reads no further than its buffers allow while storage is slow (backpressure)', async () => {
      const file = await videoFile(PART_SIZE_BYTES * 12);
      let read = 0;
      let mostAhead = 0;
      const source = file.stream();
      source.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // Bytes taken from the source beyond what storage has acknowledged.
        mostAhead = Math.max(mostAhead, read - acknowledged * PART_SIZE_BYTES);
      });
      let acknowledged = 0;
      const counting = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const answer = await next(args);
        if (context.commandName === 'UploadPartCommand') acknowledged += 1;
        return answer;
      };
      client.middlewareStack.add(counting as never, { step: 'initialize', name: 'countParts' });
      try {
        const key = `videos/${Date.now()}/backpressure`;
        await storage.uploadVideo(key, source, { maxBytes: PART_SIZE_BYTES * 16 });
        await storage.deleteObject(key);
      } finally {
        client.middlewareStack.remove('countParts');
      }
      // (queue + 1) part buffers, plus what the streams between hold (a few 64 KiB chunks each).
      expect(mostAhead).toBeLessThanOrEqual((PART_QUEUE_SIZE + 1) * PART_SIZE_BYTES + 1024 * 1024);
    });

    it.each([
      ['one PUT', PART_SIZE_BYTES - 1],
      ['the completion', PART_SIZE_BYTES * 2 + 1],
    ])('a cancel while %s is on its way (the file whole, the request cut after it): nothing is left', async (_name, size) => {
      traffic.slowLastRequest = true;
      try {
        const file = await videoFile(size);
        const controller = new AbortController();
        const source = file.stream();
        // Cancelled once the writer has all the bytes and is storing the last of them.
        source.once('end', () => setTimeout(() => controller.abort(), 200));
        await expect(storage.uploadVideo(`videos/${Date.now()}/cut-at-the-end`, source, { maxBytes: PART_SIZE_BYTES * 16, signal: controller.signal })).rejects.toMatchObject({
          code: 'upload_aborted',
        });
        await expectSettledAndNothingLeft();
      } finally {
        traffic.slowLastRequest = false;
      }
    });

    it('a part storage refuses: storage_unavailable, answered only after the cleanup', async () => {
      traffic.failPart = 3;
      const file = await videoFile(PART_SIZE_BYTES * 8);
      await expect(storage.uploadVideo(`videos/${Date.now()}/refused-part`, file.stream(), { maxBytes: PART_SIZE_BYTES * 16 })).rejects.toMatchObject({
        code: 'storage_unavailable',
      });
      await expectSettledAndNothingLeft();
    });
  });
});

describe('ObjectStorage.inspectVideo on a real S3 server', () => {
  const config = testConfig(uniquePrefix('inspect'), { S3_BUCKET: `inspect-${Date.now().toString(36)}` });
  const client = createS3Client(config.storage);
  const storage = new ObjectStorage(client, config.storage.bucket);
  /** The Range of every GetObject sent. */
  const ranges: string[] = [];
  /** Called as each GetObject is sent. */
  let onGet: (() => void) | undefined;

  beforeAll(async () => {
    await storage.ensureBucket();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') {
          ranges.push((args.input as { Range?: string }).Range ?? 'whole');
          onGet?.();
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordRanges' },
    );
  });
  beforeEach(() => {
    ranges.length = 0;
    onGet = undefined;
  });
  afterAll(async () => {
    await storage.deletePrefix('');
    client.destroy();
  });

  it('an object of several ranges: the size, SHA-256 and type of the file, read in ranges', async () => {
    const key = `videos/${Date.now()}/several-ranges`;
    const sizeBytes = INSPECT_RANGE_BYTES * 2 + 12_345;
    const chunks: Buffer[] = [];
    for await (const chunk of await videoLikeStream(sizeBytes)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    await storage.putBytes(key, bytes, 'application/octet-stream');

    expect(await storage.inspectVideo(key)).toEqual({
      bucket: config.storage.bucket,
      key,
      sizeBytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      contentType: 'video/mp4',
    });
    expect(ranges.sort()).toEqual(
      [`bytes=0-${INSPECT_RANGE_BYTES - 1}`, `bytes=${INSPECT_RANGE_BYTES}-${2 * INSPECT_RANGE_BYTES - 1}`, `bytes=${2 * INSPECT_RANGE_BYTES}-${sizeBytes - 1}`].sort(),
    );
  });

  it('a file that is not a video: unsupported_media_type, having read only the first range', async () => {
    const key = `videos/${Date.now()}/text`;
    await storage.putBytes(key, Buffer.alloc(INSPECT_RANGE_BYTES * 4, 'not a video, only text\n'), 'text/plain');
    await expect(storage.inspectVideo(key)).rejects.toMatchObject({ code: 'unsupported_media_type' });
    expect(ranges).toEqual([`bytes=0-${INSPECT_RANGE_BYTES - 1}`]);
  });

  it('an empty object: empty_file, reading nothing', async () => {
    const key = `videos/${Date.now()}/empty`;
    await storage.putBytes(key, Buffer.alloc(0), 'application/octet-stream');
    await expect(storage.inspectVideo(key)).rejects.toMatchObject({ code: 'empty_file' });
    expect(ranges).toEqual([]);
  });

  it('a cancelled read rejects and sends no request after it', async () => {
    const key = `videos/${Date.now()}/cancelled`;
    await storage.putBytes(key, Buffer.concat([(await fs.readFile(await makeVideo({ seconds: 1 }))).subarray(0, 8192), randomBytes(INSPECT_RANGE_BYTES * 6)]), 'application/octet-stream');
    const controller = new AbortController();
    // Cancelled while the first range is on its way: that one fails, and no other is asked for.
    onGet = () => controller.abort(new Error('the client went away'));
    await expect(storage.inspectVideo(key, controller.signal)).rejects.toThrow('the client went away');
    await sleep(500);
    expect(ranges).toEqual([`bytes=0-${INSPECT_RANGE_BYTES - 1}`]);
  });
});
