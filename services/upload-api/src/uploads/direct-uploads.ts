import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Locker } from '@tus/server';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import type { Logger } from '@video-pipeline/logging';
import { MAX_PARTS, type ObjectStorage } from '@video-pipeline/storage';
import type { PendingUpload } from '@video-pipeline/db';
import type { VideoRepository } from '../video-repository';
import type { PendingUploads } from './pending-uploads';
import type { QuotaLimits } from './quotas';
import { underUploadLock } from './tus-locker';

const MiB = 1024 * 1024;
export const DEFAULT_DIRECT_PART_BYTES = 8 * MiB;

export interface DirectUploadsDeps {
  videos: VideoRepository;
  pending: PendingUploads;
  storage: ObjectStorage;
  /** Signs part URLs for the S3 endpoint clients reach (S3_PUBLIC_ENDPOINT). */
  presigner: S3Client;
  presignedUrlSeconds: number;
  maxUploadBytes: number;
  quotas: QuotaLimits;
  /** The uploads' locks (shared with tus and the sweeper, across instances): an upload's completions and its cancel take turns. */
  locker: Locker;
  clock?: () => Date;
}

export const directObjectKey = (uploadId: string) => `videos/${uploadId}/original`;

/** How a file of `sizeBytes` splits into parts of `partSizeBytes`: the last one holds the rest. */
export function partSizes(sizeBytes: number, partSizeBytes: number): number[] {
  const count = Math.ceil(sizeBytes / partSizeBytes);
  return Array.from({ length: count }, (_, index) => (index === count - 1 ? sizeBytes - partSizeBytes * (count - 1) : partSizeBytes));
}

const normalEtag = (etag: string) => etag.replace(/^W\//, '').replaceAll('"', '').toLowerCase();

/**
 * Direct uploads: the client sends the parts of an S3 multipart upload
 * straight to storage through presigned URLs, then asks us to complete it.
 * Completion checks every part with storage (ListParts: present, of its
 * size, with the ETag the client got), completes the object, reads it back
 * (sniffing, hashing) and runs the same completion as every upload. Any
 * refusal aborts the upload: nothing is left behind.
 */
export class DirectUploads {
  constructor(private readonly deps: DirectUploadsDeps) {}

  async start(ownerId: string, request: { sizeBytes: number; partSizeBytes?: number; title: string | null }) {
    const { sizeBytes } = request;
    if (sizeBytes > this.deps.maxUploadBytes) {
      throw new PipelineError('file_too_large', `an upload is at most ${this.deps.maxUploadBytes} bytes`, { details: { maxBytes: this.deps.maxUploadBytes } });
    }
    const partSizeBytes = request.partSizeBytes ?? Math.max(DEFAULT_DIRECT_PART_BYTES, Math.ceil(sizeBytes / MAX_PARTS / MiB) * MiB);
    if (Math.ceil(sizeBytes / partSizeBytes) > MAX_PARTS) {
      throw new PipelineError('invalid_request', `${sizeBytes} bytes in parts of ${partSizeBytes} make more than ${MAX_PARTS} parts; choose larger parts`, {
        details: { in: 'body', field: 'partSizeBytes' },
      });
    }
    // The quota first, so a refused upload starts nothing in storage.
    await this.deps.pending.checkQuota(ownerId, sizeBytes);
    const id = randomUUID();
    const key = directObjectKey(id);
    const s3UploadId = await this.deps.storage.startMultipartUpload(key).catch((error: unknown) => {
      throw new PipelineError('storage_unavailable', 'could not start the upload in storage', { cause: error });
    });
    try {
      const row = await this.deps.pending.reserve({ id, ownerId, kind: 'direct', objectKey: key, s3UploadId, sizeBytes, partSizeBytes, title: request.title });
      const now = this.deps.clock?.() ?? new Date();
      const parts = await Promise.all(
        partSizes(sizeBytes, partSizeBytes).map(async (size, index) => ({
          partNumber: index + 1,
          sizeBytes: size,
          url: await this.deps.storage.presignedPartUrl(this.deps.presigner, key, s3UploadId, index + 1, this.deps.presignedUrlSeconds),
        })),
      );
      return {
        id,
        sizeBytes,
        partSizeBytes,
        parts,
        urlsExpireAt: new Date(now.getTime() + this.deps.presignedUrlSeconds * 1000).toISOString(),
        expiresAt: row.expiresAt.toISOString(),
        completeUrl: `/v1/uploads/direct/${id}/complete`,
      };
    } catch (error) {
      await this.deps.storage.abortMultipartUpload(key, s3UploadId).catch(() => undefined);
      await this.deps.pending.remove(id).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Completes the owner's upload into a video; a completion sent again, or
   * at the same time, answers the same video. Completions take turns: one
   * that found no object yet would otherwise list no parts once the other
   * completed it, refuse the upload and abort it, deleting the object the
   * other is reading back.
   */
  async complete(ownerId: string, id: string, parts: { partNumber: number; etag: string }[], log: Logger) {
    return underUploadLock(this.deps.locker, directObjectKey(id), () => this.completeInTurn(ownerId, id, parts, log));
  }

  private async completeInTurn(ownerId: string, id: string, parts: { partNumber: number; etag: string }[], log: Logger) {
    const upload = await this.deps.pending.findForOwner(id, ownerId, 'direct');
    if (!upload) {
      const video = await this.deps.videos.completedVideo(id);
      if (video && video.ownerId === ownerId) return video;
      throw new PipelineError('not_found', `no direct upload ${id}`);
    }
    const key = upload.objectKey;
    const s3UploadId = upload.s3UploadId!;
    try {
      // Only storing the parts' multipart upload makes this key: an object there is one an earlier completion
      // stored before it failed (reading it back, recording it). Its parts are gone with the multipart upload.
      if (!(await this.deps.storage.objectExists(key))) await this.completeParts(key, s3UploadId, upload, parts);
      const object = await this.deps.storage.inspectVideo(key);
      const { video, created } = await this.deps.videos.completeUpload(id, { id, ownerId, title: upload.title, object }, { quotas: this.deps.quotas, pending: true });
      if (!created) log.info({ uploadId: id }, 'a direct upload was completed twice at once');
      return video;
    } catch (error) {
      // A refused completion leaves nothing; a failure of ours (storage, database) leaves the upload for a retry.
      if (isPipelineError(error) && error.status < 500) await this.abort(upload.id, key, s3UploadId);
      throw error;
    }
  }

  /** Checks every part with storage (present, of its size, with the ETag the client got) and completes the object. */
  private async completeParts(key: string, s3UploadId: string, upload: PendingUpload, parts: { partNumber: number; etag: string }[]): Promise<void> {
    const expected = partSizes(Number(upload.sizeBytes), Number(upload.partSizeBytes));
    const stored = await this.deps.storage.listParts(key, s3UploadId);
    const sent = new Map(parts.map((part) => [part.partNumber, normalEtag(part.etag)]));
    const problems = { missing: [] as number[], wrongSize: [] as number[], wrongEtag: [] as number[], unexpected: [] as number[] };
    expected.forEach((size, index) => {
      const partNumber = index + 1;
      const part = stored.find((each) => each.partNumber === partNumber);
      if (!part) problems.missing.push(partNumber);
      else if (part.sizeBytes !== size) problems.wrongSize.push(partNumber);
      else if (sent.get(partNumber) !== normalEtag(part.etag)) problems.wrongEtag.push(partNumber);
    });
    for (const part of stored) if (part.partNumber > expected.length) problems.unexpected.push(part.partNumber);
    for (const partNumber of sent.keys()) if (partNumber > expected.length) problems.unexpected.push(partNumber);
    if (Object.values(problems).some((list) => list.length > 0)) {
      throw new PipelineError('upload_incomplete', 'the parts in storage are not the ones this upload needs; it was aborted, start a new one', {
        details: Object.fromEntries(Object.entries(problems).filter(([, list]) => list.length > 0)),
      });
    }
    await this.deps.storage.completeMultipartUpload(key, s3UploadId, stored.map(({ partNumber, etag }) => ({ partNumber, etag })));
  }

  /** DELETE: the owner gives up an upload; storage forgets its parts. */
  async cancel(ownerId: string, id: string): Promise<void> {
    // In turn with a completion: one running finishes (and the upload is its video) before this looks.
    await underUploadLock(this.deps.locker, directObjectKey(id), async () => {
      const upload = await this.deps.pending.findForOwner(id, ownerId, 'direct');
      if (!upload) throw new PipelineError('not_found', `no direct upload ${id} under way`);
      await this.abort(upload.id, upload.objectKey, upload.s3UploadId!);
    });
  }

  private async abort(id: string, key: string, s3UploadId: string): Promise<void> {
    await this.deps.storage.abortMultipartUpload(key, s3UploadId);
    await this.deps.storage.deleteObject(key).catch(() => undefined);
    await this.deps.pending.remove(id);
  }
}
