import type { EventHandler } from '@video-pipeline/consumer';
import { recordFact } from './shared/record-fact';

/** An upload: counts it and its bytes on its day, for its owner. */
export const handleVideoUploaded: EventHandler<'video.uploaded'> = async (event, context) =>
  recordFact(event, context, { outcome: 'uploaded', sizeBytes: event.data.object.sizeBytes });
