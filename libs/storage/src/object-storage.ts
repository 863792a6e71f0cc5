import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import fs from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import { ContainerSniffer, NOT_A_VIDEO_MESSAGE, SNIFF_BYTES, sniffVideoContainer } from './container-sniffer';
import { DigestStream } from './digest-stream';
import { MultipartWriter } from './multipart-writer';
import { readRangesInOrder, type ByteRange } from './ranged-read';

export interface StoredVideo {
  bucket: string;
  key: string;
  sizeBytes: number;
  sha256: string;
  contentType: string;
}

export interface UploadOptions {
  /** Largest accepted size; the upload fails with `file_too_large` past it. */
  maxBytes: number;
  /** Cancels the upload; whatever was written is removed. */
  signal?: AbortSignal;
}

/**
 * Multipart part size and parallelism: memory stays near part × (queue + 1)
 * (about 20 MB), with enough requests in flight to keep S3 busy. 5 MiB is
 * S3's smallest part; bigger limits get bigger parts (see partSizeFor).
 */
export const PART_SIZE_BYTES = 5 * 1024 * 1024;
export const PART_QUEUE_SIZE = 3;
/**
 * Reading an object back (inspectVideo): ranged GETs in flight and their
 * size. Several at once keep storage busy while the hash runs; memory stays
 * near their product (32 MiB).
 */
export const INSPECT_RANGE_BYTES = 8 * 1024 * 1024;
export const INSPECT_PARALLEL_RANGES = 4;
/** S3 allows at most this many parts in one upload. */
export const MAX_PARTS = 10_000;

/** The smallest part size that fits an upload of up to `maxBytes` in S3's part limit. */
export function partSizeFor(maxBytes: number): number {
  return Math.max(PART_SIZE_BYTES, Math.ceil(maxBytes / MAX_PARTS));
}

/**
 * A bucket of video objects. Uploads stream through a container sniffer and
 * a digest into an S3 multipart upload: memory stays bounded by
 * part size × queue size whatever the file size, and any failure aborts the
 * multipart upload so no parts or objects are left behind.
 */
export class ObjectStorage {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch {
      // HeadBucket answers 404 for a missing bucket; create it, tolerating a concurrent creator.
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket })).catch((error: { name?: string }) => {
        if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
      });
    }
  }

  /** Streams a video into `key`; returns its size, SHA-256 and sniffed media type. */
  async uploadVideo(key: string, source: Readable, options: UploadOptions): Promise<StoredVideo> {
    const sniffer = new ContainerSniffer();
    const digest = new DigestStream(options.maxBytes);
    const writer = new MultipartWriter({
      client: this.client,
      bucket: this.bucket,
      key,
      contentType: 'application/octet-stream',
      partSizeBytes: partSizeFor(options.maxBytes),
      partsInFlight: PART_QUEUE_SIZE,
    });
    // Whether the bytes stopped coming (a client's fault) or storage failed (ours) decides the answer.
    let sourceFailed = false;
    source.once('error', () => {
      sourceFailed = true;
    });

    // Every failure (the source, the sniffer, the digest, the signal, a part)
    // ends in the writer being destroyed; it then waits for its parts in flight
    // and aborts the multipart upload, so `settled` means no request is left
    // running after we have answered.
    try {
      await pipeline(source, sniffer, digest, writer, { signal: options.signal });
    } catch (error) {
      await writer.settled;
      await this.deleteObject(key).catch(() => undefined);
      throw this.asUploadError(writer.storageFailure ?? error, options.signal, sourceFailed || Boolean(source.errored), Boolean(writer.storageFailure));
    }

    return { bucket: this.bucket, key, sizeBytes: digest.sizeBytes, sha256: digest.digest(), contentType: sniffer.contentType! };
  }

  /**
   * Reads a stored object back for its size, SHA-256 and media type, as
   * uploadVideo returns them for what it stored. The object is read in
   * ranges, INSPECT_PARALLEL_RANGES at a time (memory: that many ranges), and
   * hashed in order; the first range is read alone and sniffed, so a file
   * that is not a video fails with `unsupported_media_type` (an empty one
   * with `empty_file`) before the rest is read. Storage out of reach fails
   * with `storage_unavailable`.
   */
  async inspectVideo(key: string, signal?: AbortSignal): Promise<StoredVideo> {
    try {
      return await this.readBack(key, signal);
    } catch (error) {
      throw asReadError(error, signal);
    }
  }

  private async readBack(key: string, signal: AbortSignal | undefined): Promise<StoredVideo> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    const sizeBytes = head.ContentLength ?? 0;
    if (sizeBytes === 0) throw new PipelineError('empty_file', 'the uploaded file is empty');
    const hash = createHash('sha256');
    let contentType: string | undefined;
    await readRangesInOrder(
      { sizeBytes, rangeBytes: INSPECT_RANGE_BYTES, concurrency: INSPECT_PARALLEL_RANGES, signal },
      // IfMatch: an object replaced between two ranges fails the read instead of mixing two files' bytes.
      (range, rangeSignal) => this.readRange(key, range, head.ETag, rangeSignal),
      (chunks, range) => {
        if (range.start === 0) {
          contentType = sniffVideoContainer(Buffer.concat(chunks, Math.min(SNIFF_BYTES, range.end)));
          if (!contentType) throw new PipelineError('unsupported_media_type', NOT_A_VIDEO_MESSAGE);
        }
        for (const chunk of chunks) hash.update(chunk);
      },
    );
    return { bucket: this.bucket, key, sizeBytes, sha256: hash.digest('hex'), contentType: contentType! };
  }

  /** A URL that reads the object without credentials until it expires (SigV4, at most 7 days). */
  async presignedGetUrl(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: Math.min(Math.ceil(expiresInSeconds), 7 * 24 * 60 * 60) });
  }

  /** The object's first `bytes` bytes (fewer if it is shorter). Storage out of reach fails with `storage_unavailable`. */
  async readHead(key: string, bytes: number, signal?: AbortSignal): Promise<Buffer> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${bytes - 1}` }), { abortSignal: signal });
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (error) {
      throw asReadError(error, signal);
    }
  }

  /** Stores a local file (whole: for files of a few MB, such as segments and images). Writing the same key again replaces it. */
  async putFile(key: string, file: string, contentType: string, signal?: AbortSignal): Promise<void> {
    const body = await fs.readFile(file);
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.length }), { abortSignal: signal });
  }

  /** Stores bytes under a key. */
  async putBytes(key: string, body: Buffer | string, contentType: string, signal?: AbortSignal): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }), { abortSignal: signal });
  }

  /** Deletes every object under `prefix` except those in `keep`; returns how many went. */
  async deletePrefix(prefix: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
    const doomed = (await this.listKeys(prefix)).filter((key) => !keep.has(key));
    for (let start = 0; start < doomed.length; start += 1000) {
      const batch = doomed.slice(start, start + 1000);
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
    return doomed.length;
  }

  async deleteObject(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Whether the key holds an object. Storage out of reach fails with `storage_unavailable`. */
  async objectExists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw asReadError(error, undefined);
    }
  }

  async listKeys(prefix = ''): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((object) => object.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys;
  }

  /** Starts a multipart upload that clients fill themselves (direct uploads); returns its id. */
  async startMultipartUpload(key: string): Promise<string> {
    const answer = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'application/octet-stream' }));
    return answer.UploadId!;
  }

  /**
   * A URL that stores one part of a multipart upload without credentials
   * until it expires, signed by `presigner` (a client for the endpoint the
   * uploader reaches, which may not be ours).
   */
  async presignedPartUrl(presigner: S3Client, key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(presigner, new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }), {
      expiresIn: expiresInSeconds,
    });
  }

  /** The parts storage holds for a multipart upload, in order. */
  async listParts(key: string, uploadId: string): Promise<{ partNumber: number; sizeBytes: number; etag: string }[]> {
    const parts: { partNumber: number; sizeBytes: number; etag: string }[] = [];
    let marker: string | undefined;
    do {
      const page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      for (const part of page.Parts ?? []) parts.push({ partNumber: part.PartNumber!, sizeBytes: part.Size!, etag: part.ETag! });
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
      }),
    );
  }

  /** Aborts a multipart upload; one already gone is fine. */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch((error: unknown) => {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error;
    });
  }

  /** Multipart uploads started and neither completed nor aborted. */
  async listOpenMultipartUploads(prefix = ''): Promise<{ key: string; uploadId: string }[]> {
    const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix }));
    return (page.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
  }

  /** Reachability check for readiness probes. */
  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** One range of an object, as the chunks the connection delivered (no copy into one buffer). */
  private async readRange(key: string, range: ByteRange, etag: string | undefined, signal: AbortSignal): Promise<Buffer[]> {
    const answer = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${range.start}-${range.end - 1}`, IfMatch: etag }),
      { abortSignal: signal },
    );
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of answer.Body as Readable) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    if (length !== range.end - range.start) {
      throw new PipelineError('storage_unavailable', `storage answered ${length} bytes for bytes ${range.start}-${range.end - 1} of ${key}`);
    }
    return chunks;
  }

  private asUploadError(error: unknown, signal: AbortSignal | undefined, sourceFailed: boolean, storageFailed: boolean): PipelineError {
    if (isPipelineError(error)) return error;
    if (signal?.aborted) return new PipelineError('upload_aborted', 'the upload was cancelled', { cause: error });
    // A failing part destroys the whole pipeline, the source included: storage's failure comes first.
    if (storageFailed) return new PipelineError('storage_unavailable', 'could not store the file', { cause: error });
    if (sourceFailed) return new PipelineError('upload_aborted', `the file ended before it was complete: ${(error as Error).message}`, { cause: error });
    const name = (error as { name?: string }).name;
    if (name === 'AbortError' || (error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
      return new PipelineError('upload_aborted', 'the upload ended before the file was complete', { cause: error });
    }
    return new PipelineError('storage_unavailable', 'could not store the file', { cause: error });
  }
}

/** Node's socket errors for a server that cannot be reached or dropped the connection. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Whether a failed storage call means storage is out of reach, worth trying
 * again later: a socket that could not connect or broke (a name resolving to
 * several addresses fails as an AggregateError of them), the SDK's time-out,
 * a call the SDK gave up on without any answer, or a 5xx answer. A 404 or
 * 403 is not an outage. Duck-typed: under jest the SDK wraps Node's socket
 * errors (from another realm) in a plain Error without their `code`, but its
 * `$metadata` still says no answer came; a streamed request's failure gets no
 * `$metadata`, only the wrapper's message (an answer would have been parsed
 * into an error of the SDK's own).
 */
export function isStorageUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, errors, $metadata } = error as { code?: unknown; name?: unknown; errors?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  if (Array.isArray(errors) && errors.some(isStorageUnavailable)) return true;
  if (name === 'TimeoutError') return true;
  if (isWrappedSocketError(String((error as { message?: unknown }).message))) return true;
  if ($metadata) return $metadata.httpStatusCode === undefined || $metadata.httpStatusCode >= 500;
  return false;
}

/** The SDK's wrapper of a socket error it did not recognise as an Error (another realm's, under jest): its message names the error. */
function isWrappedSocketError(message: string): boolean {
  if (!message.startsWith('AWS SDK error wrapper for ')) return false;
  return message.includes('socket hang up') || [...UNREACHABLE_CODES].some((code) => message.includes(code));
}

/** A read's failure as the pipeline says it: storage out of reach is `storage_unavailable` (retried as an outage); the rest as it came. */
function asReadError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (isPipelineError(error) || signal?.aborted || !isStorageUnavailable(error)) return error;
  const { code, message, name } = error as { code?: string; message?: string; name?: string };
  return new PipelineError('storage_unavailable', `could not read from storage: ${message || code || name}`, { cause: error });
}
