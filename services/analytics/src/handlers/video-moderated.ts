import type { EventHandler } from '@video-pipeline/consumer';
import { recordFact } from './shared/record-fact';

/** A moderation decision: its outcome (approved, rejected, needs_review). */
export const handleVideoModerated: EventHandler<'video.moderated'> = async (event, context) =>
  recordFact(event, context, { stage: 'moderation', outcome: event.data.decision });
