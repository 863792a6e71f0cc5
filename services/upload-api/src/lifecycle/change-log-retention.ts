import type { PrismaClient } from '@video-pipeline/db';
import { TERMINAL_STATUSES } from '@video-pipeline/lifecycle';

const BATCH_ROWS = 5_000;

/**
 * Trims the change log behind the event streams, which gains a row for
 * every progress step of every video. Rows older than `before` go when
 * their video is gone (its `deleted` row was for the streams open then), or
 * when it finished before `before`, all but its outcome (the last status
 * row): a stream opened later still gets the outcome and ends, as for any
 * finished video. A video under way keeps its whole history. Returns the
 * rows removed.
 */
export async function pruneChangeLog(prisma: PrismaClient, before: Date, limit = 100_000): Promise<number> {
  let removed = 0;
  while (removed < limit) {
    const batch = await prisma.$executeRaw`
      DELETE FROM video_changes WHERE seq IN (
        SELECT c.seq FROM video_changes c
        LEFT JOIN videos v ON v.id = c.video_id
        LEFT JOIN LATERAL (
          SELECT l.seq, l.created_at FROM video_changes l
          WHERE l.video_id = c.video_id AND l.data->>'type' = 'status' ORDER BY l.seq DESC LIMIT 1
        ) outcome ON true
        WHERE c.created_at < ${before}
          AND (v.id IS NULL
            OR (v.status::text = ANY(${[...TERMINAL_STATUSES]}::text[]) AND outcome.created_at < ${before} AND c.seq < outcome.seq))
        LIMIT ${Math.min(BATCH_ROWS, limit - removed)})`;
    removed += batch;
    if (batch === 0) break;
  }
  return removed;
}
