import type { EventHandler } from '@video-pipeline/consumer';
import { msBetween, recordFact } from './shared/record-fact';

/** The pictures are done: the thumbnails stage succeeded, and its processing time. */
export const handleVideoThumbnailsGenerated: EventHandler<'video.thumbnails.generated'> = async (event, context) =>
  recordFact(event, context, { stage: 'thumbnails', outcome: 'succeeded', durationMs: msBetween(event.data.startedAt, event.data.generatedAt) });
