import { createPrismaClient } from '@video-pipeline/db';
import { createLogger } from '@video-pipeline/logging';
import { ObjectStorage, createS3Client } from '@video-pipeline/storage';
import { IdempotencyKeys } from '@video-pipeline/upload-api/src/uploads/idempotency';
import { UploadSweeper } from '@video-pipeline/upload-api/src/uploads/sweeper';
import { PostgresLocker } from '@video-pipeline/upload-api/src/uploads/tus-locker';
import type { OpsContext } from '../context';

/**
 * `ops sweep-uploads`: what every upload API instance does every few minutes,
 * by hand: removes unfinished uploads past their expiry (their multipart
 * uploads, partial objects and records) and idempotency keys past their day.
 * Safe beside running APIs: each upload is claimed by one sweeper.
 */
export async function sweepUploads(context: Pick<OpsContext, 'config' | 'out'>): Promise<void> {
  const prisma = createPrismaClient({ databaseUrl: context.config.database.url, poolMax: 1 });
  const logger = createLogger('ops', { level: 'error' });
  // The APIs' tus locks: an upload a request is still writing to is removed once that request has stopped.
  const locker = new PostgresLocker({ databaseUrl: context.config.database.url, logger });
  try {
    const storage = new ObjectStorage(createS3Client(context.config.storage), context.config.storage.bucket);
    const sweeper = new UploadSweeper({ prisma, storage, idempotency: new IdempotencyKeys(prisma), locker, logger, changeLogRetentionMs: context.config.uploads.changeLogRetentionMs });
    context.out.progress('sweeping expired uploads ...');
    const swept = await sweeper.sweep();
    context.out.result(swept, () => `removed ${swept.uploads} expired upload(s), ${swept.idempotencyKeys} expired idempotency key(s) and ${swept.changeLogRows} old change-log row(s) of finished or deleted videos`);
  } finally {
    await Promise.allSettled([locker.close(), prisma.$disconnect()]);
  }
}
