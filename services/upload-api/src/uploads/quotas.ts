import type { Prisma } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';

/** Per-owner limits (QUOTA_STORED_BYTES, QUOTA_UPLOADS_PER_DAY). */
export interface QuotaLimits {
  storedBytes: number;
  uploadsPerDay: number;
}

export const QUOTA_WINDOW_MS = 24 * 60 * 60 * 1000;

type Db = Pick<Prisma.TransactionClient, "$queryRaw" | "$executeRaw">;

/**
 * Serialises one owner's quota decisions: a check and the write it allows
 * happen under this transaction-scoped lock, so two uploads racing for the
 * last bytes of a quota cannot both get them, across API instances.
 */
export async function lockOwnerQuota(tx: Db, ownerId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`quota:${ownerId}`}, 0))`;
}

/**
 * Refuses an upload that would pass the owner's quotas: `upload_quota_exceeded`
 * (429, with when one more fits) when it has started its uploads of the day,
 * `storage_quota_exceeded` (413) when `bytes` more would pass its stored bytes.
 * Counts its videos and its open uploads except `exceptUploadId` (the one
 * completing, counted through `bytes`). Call under lockOwnerQuota.
 */
export async function checkQuota(
  tx: Db,
  limits: QuotaLimits,
  request: { ownerId: string; bytes: number; exceptUploadId?: string; now: Date },
): Promise<void> {
  const { ownerId, bytes, now } = request;
  const since = new Date(now.getTime() - QUOTA_WINDOW_MS);
  const except = request.exceptUploadId ?? '';
  const [usage] = await tx.$queryRaw<{ stored: bigint; recent: bigint; oldest: Date | null }[]>`
    WITH owned AS (
      SELECT size_bytes, created_at FROM videos WHERE owner_id = ${ownerId}
      UNION ALL
      SELECT coalesce(size_bytes, 0), created_at FROM pending_uploads WHERE owner_id = ${ownerId} AND id <> ${except}
    )
    SELECT coalesce(sum(size_bytes), 0)::bigint AS stored,
           count(*) FILTER (WHERE created_at > ${since})::bigint AS recent,
           min(created_at) FILTER (WHERE created_at > ${since}) AS oldest
    FROM owned`;
  const recent = Number(usage!.recent);
  if (recent + 1 > limits.uploadsPerDay) {
    const retryAfterSeconds = usage!.oldest ? Math.max(1, Math.ceil((usage!.oldest.getTime() + QUOTA_WINDOW_MS - now.getTime()) / 1000)) : 60;
    throw new PipelineError('upload_quota_exceeded', `at most ${limits.uploadsPerDay} uploads in 24 hours; try again in ${retryAfterSeconds} s`, {
      details: { uploadsPerDay: limits.uploadsPerDay, retryAfterSeconds },
    });
  }
  const stored = Number(usage!.stored);
  if (stored + bytes > limits.storedBytes) {
    throw new PipelineError('storage_quota_exceeded', `this upload would bring your stored bytes to ${stored + bytes}, over your quota of ${limits.storedBytes}`, {
      details: { quotaBytes: limits.storedBytes, storedBytes: stored, uploadBytes: bytes },
    });
  }
}
