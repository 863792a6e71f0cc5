import type { EventHandler } from '@video-pipeline/consumer';
import { msBetween, recordFact } from './shared/record-fact';

/** The ladder is done: the transcode stage succeeded; its processing time, and the minutes of source. */
export const handleVideoTranscoded: EventHandler<'video.transcoded'> = async (event, context) =>
  recordFact(event, context, { stage: 'transcode', outcome: 'succeeded', sourceSeconds: event.data.durationSeconds, durationMs: msBetween(event.data.startedAt, event.data.transcodedAt) });
