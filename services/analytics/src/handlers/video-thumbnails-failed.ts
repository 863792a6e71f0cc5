import type { EventHandler } from '@video-pipeline/consumer';
import { msBetween, recordFact } from './shared/record-fact';

/** The thumbnails stage failed for good: its reason, and how long the failing attempt ran. */
export const handleVideoThumbnailsFailed: EventHandler<'video.thumbnails.failed'> = async (event, context) =>
  recordFact(event, context, { stage: 'thumbnails', outcome: 'failed', reasonCode: event.data.reason.code, durationMs: msBetween(event.data.startedAt, event.data.failedAt) });
