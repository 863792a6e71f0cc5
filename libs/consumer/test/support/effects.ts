import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '@video-pipeline/db';
import type { CloudEvent } from '@video-pipeline/events';
import type { Effects } from '../../src';

/**
 * Side effects that can be counted: each application inserts a new
 * `video_receipts` row tagged with the group (and who applied it), so applying
 * the same event's effects twice would show as two rows.
 */
export function countedEffects(event: CloudEvent<'video.uploaded'>, groupId: string, appliedBy = 'test'): Effects {
  return async (tx) => {
    await tx.videoReceipt.create({ data: { consumerGroup: `${groupId}|${appliedBy}|${randomUUID()}`, videoId: event.data.videoId, eventId: event.id } });
  };
}

/** How many times effects were applied for the group (optionally: for one event), by whom. */
export async function appliedEffects(prisma: PrismaClient, groupId: string, eventId?: string): Promise<{ appliedBy: string; eventId: string }[]> {
  const rows = await prisma.videoReceipt.findMany({
    where: { consumerGroup: { startsWith: `${groupId}|` }, ...(eventId ? { eventId } : {}) },
    orderBy: { receivedAt: 'asc' },
  });
  return rows.map((row) => ({ appliedBy: row.consumerGroup.split('|')[1]!, eventId: row.eventId }));
}
