import type { EventHandler } from '@video-pipeline/consumer';
import { msBetween, recordFact } from './shared/record-fact';

/** Ready to play: the time from upload to ready. */
export const handleVideoReady: EventHandler<'video.ready'> = async (event, context) =>
  recordFact(event, context, { outcome: 'ready', durationMs: msBetween(event.data.uploadedAt, event.data.readyAt) });
