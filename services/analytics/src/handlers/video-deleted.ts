import type { EventHandler } from '@video-pipeline/consumer';
import { recordFact } from './shared/record-fact';

/** Deleted by its owner. */
export const handleVideoDeleted: EventHandler<'video.deleted'> = async (event, context) =>
  recordFact(event, context, { outcome: 'deleted' });
