import type { CloudEvent } from '@video-pipeline/events';
import type { HandlerContext } from './handlers';
import type { Effects } from './processed-events';

/**
 * Effects that record "this group has processed this video", once per event.
 * The groups' first, minimal work; each replaces it with its real job.
 */
export function recordVideoReceipt(event: CloudEvent<'video.uploaded'>, context: HandlerContext): Effects {
  return async (tx) => {
    await tx.videoReceipt.upsert({
      where: { consumerGroup_videoId: { consumerGroup: context.groupId, videoId: event.data.videoId } },
      create: { consumerGroup: context.groupId, videoId: event.data.videoId, eventId: event.id },
      update: {},
    });
  };
}
