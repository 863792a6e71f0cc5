import type { Locker } from '@tus/server';
import type { PendingUpload, PrismaClient } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';
import type { ObjectStorage } from '@video-pipeline/storage';
import { pruneChangeLog } from '../lifecycle/change-log-retention';
import type { IdempotencyKeys } from './idempotency';
import { underUploadLock } from './tus-locker';

export interface SweepResult {
  /** Uploads whose data and record were removed. */
  uploads: number;
  /** Idempotency keys past their day. */
  idempotencyKeys: number;
  /** Rows of the event streams' change log past its retention (finished and deleted videos). */
  changeLogRows: number;
}

/**
 * Removes abandoned uploads (tus or direct) past their expiry: aborts their
 * S3 multipart uploads, deletes any partial data (the object, tus' `.info`
 * and `.part`) and their row. Each upload is claimed with `FOR UPDATE SKIP
 * LOCKED` in a transaction of its own, so several sweepers (API instances,
 * the ops command) share the work without meeting, and a completion racing
 * the sweep waits for it and then finds its upload gone.
 */
export class UploadSweeper {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      storage: ObjectStorage;
      idempotency?: IdempotencyKeys;
      logger: Logger;
      clock?: () => Date;
      /** How long finished and deleted videos keep their change history (CHANGE_LOG_RETENTION_HOURS). */
      changeLogRetentionMs: number;
      /** tus' locks (shared by every instance): an upload is removed only once no request is writing to it. */
      locker?: Locker;
    },
  ) {}

  async sweep(options: { limit?: number } = {}): Promise<SweepResult> {
    const limit = options.limit ?? 1000;
    let uploads = 0;
    while (uploads < limit && (await this.sweepOne())) uploads += 1;
    const idempotencyKeys = (await this.deps.idempotency?.pruneExpired()) ?? 0;
    const now = this.deps.clock?.() ?? new Date();
    const changeLogRows = await pruneChangeLog(this.deps.prisma, new Date(now.getTime() - this.deps.changeLogRetentionMs));
    if (uploads || idempotencyKeys || changeLogRows) this.deps.logger.info({ uploads, idempotencyKeys, changeLogRows }, 'swept expired uploads and records');
    return { uploads, idempotencyKeys, changeLogRows };
  }

  /** Sweeps one expired upload; false when none is left to claim. */
  private async sweepOne(): Promise<boolean> {
    const now = this.deps.clock?.() ?? new Date();
    return this.deps.prisma.$transaction(
      async (tx) => {
        const [upload] = await tx.$queryRaw<Pick<PendingUpload, 'id' | 'objectKey'>[]>`
          SELECT id, object_key AS "objectKey" FROM pending_uploads
          WHERE expires_at <= ${now} ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`;
        if (!upload) return false;
        await this.removeData(upload.objectKey);
        await tx.pendingUpload.delete({ where: { id: upload.id } });
        return true;
      },
      { timeout: 60_000 },
    );
  }

  /**
   * Every trace of an unfinished upload in storage. Under the upload's tus
   * lock: a request still writing to it is asked to stop first, or it could
   * put a `.part` back after the sweep, with no row left to find it by.
   */
  private async removeData(key: string): Promise<void> {
    const { locker } = this.deps;
    await (locker ? underUploadLock(locker, key, () => this.removeObjects(key)) : this.removeObjects(key));
  }

  private async removeObjects(key: string): Promise<void> {
    for (const open of await this.deps.storage.listOpenMultipartUploads(key)) {
      if (open.key === key) await this.deps.storage.abortMultipartUpload(open.key, open.uploadId);
    }
    for (const leftover of [key, `${key}.info`, `${key}.part`]) await this.deps.storage.deleteObject(leftover);
  }
}
