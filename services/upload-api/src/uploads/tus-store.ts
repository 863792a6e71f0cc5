import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { S3Store, type Options as S3StoreOptions } from '@tus/s3-store';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import type { Clock } from '@video-pipeline/retry';
import { ContainerSniffer, isStorageUnavailable } from '@video-pipeline/storage';
import { ExpiringEntries } from './expiring-entries';

/**
 * The `Content-Length` of the request being handled. tus hands a store only
 * the body stream, and a part may go to storage straight from it only when
 * the request is known to hold the whole part.
 */
const declaredBodyLength = new AsyncLocalStorage<number | undefined>();

/** Runs a tus request with its declared body length known to the store (none for a chunked body). */
export function withDeclaredBodyLength<T>(req: IncomingMessage, handle: () => T): T {
  const header = req.headers['content-length'];
  const length = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  return declaredBodyLength.run(length, handle);
}

export interface TusStoreOptions extends S3StoreOptions {
  /** How long an unfinished upload lives (UPLOAD_EXPIRY_HOURS): also how long this process keeps its notes on one. */
  expirationPeriodInMilliseconds: number;
  clock?: Pick<Clock, 'now'>;
  /** The largest upload: the part size of an upload whose length is deferred (s3-store would assume 5 TiB, ~525 MiB parts). */
  maxUploadBytes: number;
  /** Removes an upload refused by its first bytes (not a video). */
  onRefused: (id: string) => Promise<void>;
}

/** What this process stored of an upload, from its first byte: their hash, how many, and the media type of the first. */
interface SeenBytes {
  hash: Hash;
  length: number;
  contentType?: string;
}

/**
 * `@tus/s3-store` with a request's bytes streamed straight to storage, part
 * by part, each with its length known: no temporary files. s3-store cut every
 * request into temporary part files and read them back, so every byte crossed
 * the disk twice (issue 22). A request's tail shorter than a part is kept as
 * `<id>.part`, as s3-store does, and begins the next request's first part.
 * One part at a time: a failed part leaves no later part stored after a gap.
 *
 * The first 4 KiB pass through the container sniffer (a non-video is
 * refused, and removed), and every byte through a SHA-256 on its way, in
 * order: an upload stored by this process alone (the usual case) is recorded
 * from those (`digestOf`) without reading the object back.
 *
 * Also: a finished upload's offset is its size on servers that list no parts
 * of a completed multipart upload; `forget` and `removeAll` clean up after it.
 */
export class TusVideoStore extends S3Store {
  private readonly maxUploadBytes: number;
  private readonly onRefused: (id: string) => Promise<void>;
  /**
   * Per upload, what this process has seen of its stored bytes, from the
   * first; dropped when a request elsewhere breaks the chain, and at the
   * latest when the upload expires (another instance may finish or sweep it).
   */
  private readonly seen: ExpiringEntries<SeenBytes>;

  /** Buffers for the tails requests begin with, reused: see `TailBuffers`. */
  private readonly tailBuffers: TailBuffers;

  constructor({ maxUploadBytes, onRefused, clock, ...options }: TusStoreOptions) {
    super(options);
    this.maxUploadBytes = maxUploadBytes;
    this.onRefused = onRefused;
    this.seen = new ExpiringEntries(options.expirationPeriodInMilliseconds, clock);
    this.tailBuffers = new TailBuffers(this.minPartSize, KEPT_TAIL_BUFFERS);
  }

  override async write(src: Readable, id: string, offset: number): Promise<number> {
    if (offset > 0) return this.writeParts(src, id, offset);
    const sniffer = new ContainerSniffer({ allowEmpty: true });
    const seen: SeenBytes = { hash: createHash('sha256'), length: 0 };
    this.seen.set(id, seen);
    let refusal: PipelineError | undefined;
    sniffer.once('error', (error) => {
      if (isPipelineError(error)) refusal = error;
    });
    src.once('error', (error) => sniffer.destroy(error));
    try {
      return await this.writeParts(src.pipe(sniffer), id, offset);
    } catch (error) {
      if (!refusal) throw error;
      await this.onRefused(id);
      throw refusal;
    } finally {
      // Known once the first 4 KiB passed, whatever became of the request after them.
      seen.contentType = sniffer.contentType;
    }
  }

  /**
   * Stores a request's bytes from `offset` and returns the new offset: the
   * bytes stored, in order. A request that ends before its declared length
   * (the client cut it) loses the part it was in (a tail that part began with
   * is put back); the client resumes from the offset before that part.
   */
  private async writeParts(src: Readable, id: string, offset: number): Promise<number> {
    const length = declaredBodyLength.getStore();
    let seen = this.seen.get(id);
    // Bytes stored by another process (or a request this one did not hash) come before these: the object will be read back.
    if (seen && (seen.length !== offset || length === undefined)) {
      this.seen.delete(id);
      seen = undefined;
    }
    // A chunked request (no length) or an empty one (creation, a zero-byte upload's completion): s3-store's way.
    if (!length) return this.writeUnknownLength(src, id, offset);
    const metadata = await this.getMetadata(id);
    const size = metadata.file.size;
    const partSize = this.calcOptimalPartSize(size);
    const end = offset + length;
    const body = new ByteReader(src, seen && ((chunk) => seen.hash.update(chunk)));
    let partNumber = (await this.retrieveParts(id)).at(-1)?.PartNumber ?? 0;
    // The previous request's tail begins this one's first part. It is removed before that part is sent (s3-store's
    // order), so a part that fails leaves the stored parts as they were, and the tail is put back.
    const taken = await this.takeIncompletePart(id);
    let tail = taken.bytes;
    try {
      while (offset < end) {
        // The hash as it was before this segment's bytes, in case they are not stored after all.
        const hashBefore = seen?.hash.copy();
        const fromRequest = Math.min(end - offset, partSize - tail.length);
        const segment = tail.length + fromRequest;
        const bytes = body.stream(fromRequest, tail);
        // A short part is fine as the last one, or at S3's minimum; below that it waits as the tail for the next request.
        const asPart = segment === partSize || offset + fromRequest === size || segment >= this.minPartSize;
        const request = (abortSignal: AbortSignal) =>
          asPart
            ? this.client.uploadPart({ Bucket: this.bucket, Key: id, UploadId: metadata['upload-id'], PartNumber: partNumber + 1, Body: bytes, ContentLength: segment }, { abortSignal })
            : this.client.putObject({ Bucket: this.bucket, Key: this.partKey(id, true), Body: bytes, ContentLength: segment }, { abortSignal });
        let stored: boolean;
        try {
          stored = await this.send(body, bytes, request);
        } catch (error) {
          await this.restoreAfterFailure(id, tail, seen, hashBefore);
          throw error;
        }
        // The client went away within this segment: none of it is stored, its tail is again (unless storage refuses that too).
        if (!stored) return offset - (await this.restoreAfterFailure(id, tail, seen, hashBefore));
        if (asPart) partNumber += 1;
        offset += fromRequest;
        if (seen) seen.length = offset;
        tail = Buffer.alloc(0);
      }
      if (offset === size) {
        await this.finishMultipartUpload(metadata, await this.retrieveParts(id));
        await this.completeMetadata(metadata.file);
        await this.clearCache(id);
      }
      // tus waits for the body's end, which follows its declared length.
      await body.expectEnd();
      return offset;
    } finally {
      taken.release();
    }
  }

  /**
   * A request of unknown length, stored s3-store's way (through temporary
   * part files), but beginning with the previous request's tail taken here:
   * s3-store joined its tail to the body with a stream that missed the
   * body's error while it read the tail (tus cutting off a body past the
   * upload's length), and the request never ended; and a failed request
   * lost the tail. Here the tail is put back unless a stored part holds it.
   */
  private async writeUnknownLength(src: Readable, id: string, offset: number): Promise<number> {
    // No tail before the first byte: no read for it.
    if (offset === 0) return super.write(src, id, offset);
    const taken = await this.takeIncompletePart(id);
    const tail = taken.bytes;
    try {
      if (tail.length === 0) return await super.write(src, id, offset);
      const partsBefore = (await this.retrieveParts(id)).length;
      try {
        return await super.write(Readable.from(withHead(tail, src)), id, offset - tail.length);
      } catch (error) {
        const partsAfter = await this.retrieveParts(id).then((parts) => parts.length, () => undefined);
        if (partsAfter === partsBefore) await this.putBackIncompletePart(id, tail);
        throw error;
      }
    } finally {
      taken.release();
    }
  }

  /**
   * Sends one streamed request to storage. False when the client's request
   * ended before the bytes it declared: the storage request is cut off
   * (storage keeps nothing of it) rather than left waiting for bytes that never come.
   */
  private async send(body: ByteReader, bytes: Readable, request: (signal: AbortSignal) => Promise<unknown>): Promise<boolean> {
    const cut = new AbortController();
    let bodyError: unknown;
    bytes.once('error', (error) => {
      bodyError = error;
      cut.abort(error);
    });
    bytes.once('end', () => {
      if (body.endedEarly) cut.abort(new Error('the request ended before its declared length'));
    });
    try {
      await request(cut.signal);
      return true;
    } catch (error) {
      if (body.endedEarly && !bodyError) return false;
      throw bodyError ?? error;
    } finally {
      bytes.destroy();
    }
  }

  /**
   * The previous request's tail (under S3's 5 MiB part minimum, so held in
   * memory, in one of `tailBuffers`), removed from storage; empty if none.
   * `release` once its part is stored or it is put back.
   */
  private async takeIncompletePart(id: string): Promise<{ bytes: Buffer; release: () => void }> {
    const stored = await this.getIncompletePart(id);
    if (!stored) return { bytes: Buffer.alloc(0), release: () => undefined };
    const buffer = this.tailBuffers.take();
    const release = () => this.tailBuffers.give(buffer);
    try {
      let length = 0;
      for await (const chunk of stored as AsyncIterable<Buffer>) {
        if (length + chunk.length > buffer.length) throw new Error(`${id}.part is over S3's part minimum, ${buffer.length} bytes`);
        length += chunk.copy(buffer, length);
      }
      await this.deleteIncompletePart(id);
      return { bytes: buffer.subarray(0, length), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Undoes what a segment that was not stored changed: its tail is stored
   * again and the hash goes back to before the segment's bytes. Returns how
   * many bytes the offset lost: the tail's, if storage refused it too.
   */
  private async restoreAfterFailure(id: string, tail: Buffer, seen: SeenBytes | undefined, hashBefore: Hash | undefined): Promise<number> {
    const tailKept = await this.putBackIncompletePart(id, tail);
    if (seen && tailKept) seen.hash = hashBefore!;
    else this.seen.delete(id);
    return tailKept ? 0 : tail.length;
  }

  /**
   * The size, SHA-256 and media type of a fully stored upload, from the bytes
   * this process stored, all of them, in order; undefined when it did not
   * see them all (another process stored some, or a chunked request).
   */
  digestOf(id: string, size: number): { sizeBytes: number; sha256: string; contentType: string } | undefined {
    const seen = this.seen.get(id);
    if (!seen?.contentType || seen.length !== size) return undefined;
    return { sizeBytes: size, sha256: seen.hash.copy().digest('hex'), contentType: seen.contentType };
  }

  /** Stores a taken tail again after the part it began failed; false if storage refuses that too (the offset is then without it). */
  private async putBackIncompletePart(id: string, tail: Buffer): Promise<boolean> {
    if (tail.length === 0) return true;
    return this.client.putObject({ Bucket: this.bucket, Key: this.partKey(id, true), Body: tail, ContentLength: tail.length }).then(
      () => true,
      () => false,
    );
  }

  /** An upload whose length is deferred is at most the largest upload: parts sized for that, not for S3's 5 TiB. */
  protected override calcOptimalPartSize(size?: number): number {
    return super.calcOptimalPartSize(size ?? this.maxUploadBytes);
  }

  /**
   * A finished upload's offset is its size. S3 answers ListParts of a
   * completed multipart upload with NoSuchUpload, which s3-store reads so;
   * some servers (s3proxy) list no parts instead, which would read as offset 0
   * and make a client send it all again. The object exists only once complete.
   */
  override async getUpload(id: string) {
    // s3-store says any failure to read `.info` is a missing upload (404: a client would start again); storage
    // out of reach is not. Read here first (s3-store caches it for its own read).
    await this.getMetadata(id).catch((error: unknown) => {
      if (isStorageUnavailable(error)) throw error;
    });
    const upload = await super.getUpload(id);
    if (upload.offset === 0 && upload.size && (await this.objectExists(id))) upload.offset = upload.size;
    return upload;
  }

  private async objectExists(key: string): Promise<boolean> {
    try {
      await this.client.headObject({ Bucket: this.bucket, Key: key });
      return true;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  /** The notes kept beside a finished upload's object. */
  async forget(id: string): Promise<void> {
    this.seen.delete(id);
    await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: [{ Key: `${id}.part` }, { Key: `${id}.info` }], Quiet: true } });
    await this.clearCache(id);
  }

  /** Everything the store keeps for an upload: the multipart upload, the object, its `.info` and `.part`. */
  async removeAll(id: string): Promise<void> {
    this.seen.delete(id);
    await this.remove(id).catch((error: unknown) => {
      if ((error as { status_code?: number }).status_code !== 404) throw error;
    });
    await this.forget(id);
  }
}

/** `head`, then `rest`'s chunks: an error of `rest` is this stream's when it is read, whenever it came (s3-store's MultiStream missed one). */
async function* withHead(head: Buffer, rest: Readable): AsyncGenerator<Buffer> {
  yield head;
  yield* rest;
}

/** Tail buffers kept for reuse: one per request that begins with a tail at once; more are made and dropped. */
const KEPT_TAIL_BUFFERS = 4;

/**
 * Buffers of S3's part minimum for tails read back. A new buffer per
 * request, held while its part was sent, lived long enough to outlive
 * young-generation collections, and the API's memory grew with PATCHes that
 * are not a multiple of the part size (bench upload-tus); a few are kept.
 */
class TailBuffers {
  private readonly free: Buffer[] = [];

  constructor(
    private readonly bytes: number,
    private readonly kept: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bytes);
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.kept) this.free.push(buffer);
  }
}

/**
 * A stream read as consecutive byte ranges of given lengths, each its own
 * stream, without copying: a chunk across a boundary is split in place.
 */
class ByteReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private rest: Buffer | undefined;
  /** The stream ended before a range had all its bytes. */
  endedEarly = false;

  /** `onBytes` sees each byte read from the source once, in order (not `head`s). */
  constructor(
    source: Readable,
    private readonly onBytes?: (chunk: Buffer) => void,
  ) {
    this.chunks = source[Symbol.asyncIterator]();
  }

  /** `head`, then the next `length` bytes, as a stream; it ends short (and `endedEarly` is set) if the source does. */
  stream(length: number, head: Buffer = Buffer.alloc(0)): Readable {
    const reader = this;
    return Readable.from(
      (async function* () {
        if (head.length) yield head;
        yield* reader.take(length);
      })(),
      { objectMode: false },
    );
  }

  /** Reads the source to its end, which must come now: a request holds no more than it declared. */
  async expectEnd(): Promise<void> {
    const next = this.rest ?? (await this.nextChunk());
    if (next) throw new PipelineError('invalid_request', 'the request body is longer than its Content-Length');
  }

  private async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      const chunk = this.rest ?? (await this.nextChunk());
      this.rest = undefined;
      if (!chunk) {
        this.endedEarly = true;
        return;
      }
      if (chunk.length > left) {
        this.rest = chunk.subarray(left);
        this.onBytes?.(chunk.subarray(0, left));
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      this.onBytes?.(chunk);
      yield chunk;
    }
  }

  private async nextChunk(): Promise<Buffer | undefined> {
    for (;;) {
      const { done, value } = await this.chunks.next();
      if (done) return undefined;
      if (value.length > 0) return value;
    }
  }
}
