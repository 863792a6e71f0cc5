import type { EventHandler } from '@video-pipeline/consumer';
import { recordFact } from './shared/record-fact';

/** A required stage failed for good: the video will not be ready. */
export const handleVideoFailed: EventHandler<'video.failed'> = async (event, context) =>
  recordFact(event, context, { stage: event.data.stage, outcome: 'failed', reasonCode: event.data.reason.code });
