import { isDatabaseUnavailable, type PendingUpload, type PrismaClient, type UploadKind } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { checkQuota, lockOwnerQuota, type QuotaLimits } from './quotas';

export interface NewPendingUpload {
  id: string;
  ownerId: string;
  kind: UploadKind;
  objectKey: string;
  s3UploadId?: string;
  /** Declared size; undefined while a tus upload defers its length. */
  sizeBytes?: number;
  partSizeBytes?: number;
  title: string | null;
}

/** Uploads under way (tus or direct): who owns each, where its bytes go, when it expires. */
export class PendingUploads {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: { quotas: QuotaLimits; expiryMs: number; clock?: () => Date },
  ) {}

  private now(): Date {
    return this.options.clock?.() ?? new Date();
  }

  /**
   * Records a new upload once the owner's quotas allow its declared size
   * (checked and recorded under the owner's lock, so racing uploads cannot
   * both take the last of a quota). Returns when it expires.
   */
  async reserve(upload: NewPendingUpload): Promise<PendingUpload> {
    const now = this.now();
    return this.prisma
      .$transaction(async (tx) => {
        await lockOwnerQuota(tx, upload.ownerId);
        await checkQuota(tx, this.options.quotas, { ownerId: upload.ownerId, bytes: upload.sizeBytes ?? 0, now });
        return tx.pendingUpload.create({
          data: {
            id: upload.id,
            ownerId: upload.ownerId,
            kind: upload.kind,
            objectKey: upload.objectKey,
            s3UploadId: upload.s3UploadId,
            sizeBytes: upload.sizeBytes === undefined ? null : BigInt(upload.sizeBytes),
            partSizeBytes: upload.partSizeBytes === undefined ? null : BigInt(upload.partSizeBytes),
            title: upload.title,
            createdAt: now,
            expiresAt: new Date(now.getTime() + this.options.expiryMs),
          },
        });
      })
      .catch(asOutage);
  }

  /** Refuses, before any byte, an upload of at least `bytes` that the owner's quotas cannot take (checked again at completion). */
  async checkQuota(ownerId: string, bytes: number): Promise<void> {
    await checkQuota(this.prisma, this.options.quotas, { ownerId, bytes, now: this.now() }).catch(asOutage);
  }

  /** The owner's upload of this id and kind; null for another owner's, exactly as for a missing one. */
  async findForOwner(id: string, ownerId: string, kind: UploadKind): Promise<PendingUpload | null> {
    return this.prisma.pendingUpload.findFirst({ where: { id, ownerId, kind } }).catch(asOutage);
  }

  async remove(id: string): Promise<void> {
    await this.prisma.pendingUpload.deleteMany({ where: { id } }).catch(asOutage);
  }
}

function asOutage(error: unknown): never {
  if (isDatabaseUnavailable(error)) throw new PipelineError('database_unavailable', 'the database is unavailable; try again shortly', { cause: error });
  throw error;
}
