import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { S3Store, type MetadataValue, type Options as S3StoreOptions } from '@tus/s3-store';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import { ContainerSniffer } from '@video-pipeline/storage';

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
  /** The largest upload: the part size of an upload whose length is deferred (s3-store would assume 5 TiB, ~525 MiB parts). */
  maxUploadBytes: number;
  /** Removes an upload refused by its first bytes (not a video). */
  onRefused: (id: string) => Promise<void>;
}

/**
 * `@tus/s3-store` with the request's whole parts streamed straight to
 * `UploadPart`, one at a time, with their length known: no temporary files.
 * s3-store cuts every request into temporary part files and reads them back,
 * so every byte crossed the disk twice. Only what does not fill a part goes
 * s3-store's way: a request's tail shorter than a part (kept as `<id>.part`)
 * and the part that completes such a tail at the next request.
 *
 * Also: the first bytes of an upload pass through the container sniffer (a
 * non-video is refused after its first 4 KiB, and removed); a finished
 * upload's offset is its size on servers that list no parts of a completed
 * multipart upload; `forget` and `removeAll` clean up after it.
 */
export class TusVideoStore extends S3Store {
  private readonly maxUploadBytes: number;
  private readonly onRefused: (id: string) => Promise<void>;

  constructor({ maxUploadBytes, onRefused, ...options }: TusStoreOptions) {
    super(options);
    this.maxUploadBytes = maxUploadBytes;
    this.onRefused = onRefused;
  }

  override async write(src: Readable, id: string, offset: number): Promise<number> {
    if (offset > 0) return this.writeParts(src, id, offset);
    const sniffer = new ContainerSniffer({ allowEmpty: true });
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
    }
  }

  /**
   * Stores a request's bytes from `offset` and returns the new offset: the
   * bytes stored, in order. A request that ends before its declared length
   * (the client cut it) keeps what s3-store kept of a tail; a part it was
   * streaming is dropped, and the client resumes from the offset before it.
   */
  private async writeParts(src: Readable, id: string, offset: number): Promise<number> {
    const length = declaredBodyLength.getStore();
    // A chunked request (no length) or an empty one: s3-store's way, all of it.
    if (!length) return super.write(src, id, offset);
    const metadata = await this.getMetadata(id);
    const size = metadata.file.size;
    const partSize = this.calcOptimalPartSize(size);
    const end = offset + length;
    const body = new ByteReader(src);

    // A tail kept by the previous request: the next part begins with it, s3-store downloads and prepends it.
    const tail = await this.getIncompletePartSize(id);
    if (tail) {
      offset = await super.write(body.stream(Math.min(length, partSize - tail)), id, offset);
      if (body.endedEarly) return offset;
    }
    const parts = await this.retrieveParts(id);
    let partNumber = parts.at(-1)?.PartNumber ?? 0;
    while (end - offset >= partSize || (end === size && offset < end)) {
      const partLength = Math.min(partSize, end - offset);
      partNumber += 1;
      if (!(await this.uploadPartFrom(body, metadata, partNumber, partLength))) return offset;
      offset += partLength;
      if (offset === size) {
        await this.finishMultipartUpload(metadata, await this.retrieveParts(id));
        await this.completeMetadata(metadata.file);
        await this.clearCache(id);
      }
    }
    // Less than a part left, and not the upload's last: s3-store keeps it as the tail.
    if (offset < end) offset = await super.write(body.stream(end - offset), id, offset);
    // tus waits for the body's end, which follows its declared length.
    if (!body.endedEarly) await body.expectEnd();
    return offset;
  }

  /**
   * The request's next `length` bytes as one part, streamed with its length.
   * False when the request ended before them: the part is cut off (storage
   * keeps nothing of it) rather than left waiting for bytes that never come.
   */
  private async uploadPartFrom(body: ByteReader, metadata: MetadataValue, partNumber: number, length: number): Promise<boolean> {
    const cut = new AbortController();
    const bytes = body.stream(length);
    let bodyError: unknown;
    bytes.once('error', (error) => {
      bodyError = error;
      cut.abort(error);
    });
    const ended = () => body.endedEarly && !cut.signal.aborted && cut.abort(new Error('the request ended within the part'));
    bytes.once('end', ended);
    try {
      await this.client.uploadPart(
        { Bucket: this.bucket, Key: metadata.file.id, UploadId: metadata['upload-id'], PartNumber: partNumber, Body: bytes, ContentLength: length },
        { abortSignal: cut.signal },
      );
      return true;
    } catch (error) {
      if (body.endedEarly && !bodyError) return false;
      throw bodyError ?? error;
    } finally {
      bytes.destroy();
    }
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
    await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: [{ Key: `${id}.part` }, { Key: `${id}.info` }], Quiet: true } });
    await this.clearCache(id);
  }

  /** Everything the store keeps for an upload: the multipart upload, the object, its `.info` and `.part`. */
  async removeAll(id: string): Promise<void> {
    await this.remove(id).catch((error: unknown) => {
      if ((error as { status_code?: number }).status_code !== 404) throw error;
    });
    await this.forget(id);
  }
}

/**
 * A stream read as consecutive byte ranges of given lengths, each its own
 * stream, without copying: a chunk across a boundary is split in place.
 */
export class ByteReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private rest: Buffer | undefined;
  /** The stream ended before a range had all its bytes. */
  endedEarly = false;

  constructor(source: Readable) {
    this.chunks = source[Symbol.asyncIterator]();
  }

  /** The next `length` bytes as a stream; it ends short (and `endedEarly` is set) if the source does. */
  stream(length: number): Readable {
    return Readable.from(this.take(length), { objectMode: false });
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
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
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
