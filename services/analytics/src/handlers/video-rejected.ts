import type { EventHandler } from '@video-pipeline/consumer';
import { recordFact } from './shared/record-fact';

/** Rejected by moderation, for good. */
export const handleVideoRejected: EventHandler<'video.rejected'> = async (event, context) =>
  recordFact(event, context, { outcome: 'rejected' });
