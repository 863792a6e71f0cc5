import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface MultipartWriterOptions {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  partSizeBytes: number;
  /** Parts sent at once; one more buffer is being filled meanwhile. */
  partsInFlight: number;
}

/**
 * A stream's bytes into one S3 object, as a multipart upload whose part
 * buffers are reused: (partsInFlight + 1) buffers of the part size are all it
 * ever holds, and writes wait while every buffer is full or on its way
 * (backpressure). A file smaller than one part is stored with one PUT.
 *
 * lib-storage's Upload concatenates each part into a new buffer, so a 1 GiB
 * upload left ~200 parts' buffers to V8's collector, which frees them late.
 *
 * When it fails or is destroyed it waits for its parts in flight, then
 * aborts the multipart upload: `settled` resolves once no request is left.
 */
export class MultipartWriter extends Writable {
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;
  private readonly sent: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private uploadId: Promise<string> | undefined;
  private failure: Error | undefined;
  private finished = false;
  /** The last request(s): the PUT of a small file, or the last part and the completion. */
  private finishing: Promise<void> | undefined;
  /** Resolves once the upload is complete, or aborted and its requests are over. */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(private readonly options: MultipartWriterOptions) {
    super();
    this.settled = new Promise((resolve) => (this.settle = resolve));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finishing = this.finish();
    this.finishing.then(
      () => callback(),
      (error: Error) => {
        this.failure ??= error;
        callback(error);
      },
    );
  }

  /** What storage answered when it failed this upload (not a failure of the bytes coming in). */
  get storageFailure(): Error | undefined {
    return this.failure;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.finished) {
      callback(error);
      return;
    }
    this.abort().finally(() => {
      this.settle();
      callback(error);
    });
  }

  private async take(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      this.current ??= this.freeBuffer();
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.options.partSizeBytes) await this.sendCurrent();
    }
  }

  private async finish(): Promise<void> {
    const { client, bucket, key, contentType } = this.options;
    if (!this.uploadId) {
      const body = this.current?.subarray(0, this.filled) ?? Buffer.alloc(0);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.length }));
    } else {
      if (this.filled > 0) await this.sendCurrent();
      await this.drainParts();
      const uploadId = await this.uploadId;
      const parts = [...this.sent].sort((a, b) => a.PartNumber! - b.PartNumber!);
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    }
    this.finished = true;
    this.settle();
  }

  /** A buffer to fill: one a finished part gave back, or a new one (never more than partsInFlight + 1 exist). */
  private freeBuffer(): Buffer {
    if (this.failure) throw this.failure;
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.options.partSizeBytes);
  }

  /** Sends the buffer being filled as the next part, once fewer than partsInFlight are on their way (backpressure). */
  private async sendCurrent(): Promise<void> {
    while (this.inFlight.size >= this.options.partsInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const { client, bucket, key, contentType } = this.options;
    const buffer = this.current!;
    const body = buffer.subarray(0, this.filled);
    const partNumber = this.sent.length + this.inFlight.size + 1;
    this.current = undefined;
    this.filled = 0;
    this.uploadId ??= client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType })).then((answer) => answer.UploadId!);
    const uploading = this.uploadId
      .then((uploadId) => client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length })))
      .then(
        (answer) => {
          this.sent.push({ PartNumber: partNumber, ETag: answer.ETag });
          this.free.push(buffer);
        },
        (error: Error) => {
          this.failure ??= error;
          this.destroy(error);
        },
      )
      .finally(() => this.inFlight.delete(uploading));
    this.inFlight.add(uploading);
  }

  private async drainParts(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private async abort(): Promise<void> {
    // Destroyed while finishing (the request was cut after the file's last byte): that PUT or completion may still
    // land, so it is waited for; whatever it stored, the caller deletes once `settled`.
    await this.finishing?.catch(() => undefined);
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (!uploadId) return;
    const { client, bucket, key } = this.options;
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
  }
}
