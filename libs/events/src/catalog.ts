import type { z } from 'zod';
import { videoThumbnailsFailedV1, videoTranscodeFailedV1 } from './media-stage-failed';
import { videoThumbnailsGeneratedV1 } from './video-thumbnails-generated';
import { videoTranscodedV1 } from './video-transcoded';
import { videoDeletedV1, videoFailedV1, videoModeratedV1, videoReadyV1, videoRejectedV1 } from './video-lifecycle';
import { videoUploadedV1 } from './video-uploaded';

/**
 * Every event type the pipeline publishes: its topic and its payload schema.
 * Adding an event here makes every typed handler map that omits it a compile
 * error, so a new event is never silently ignored.
 */
export const eventCatalog = {
  'video.uploaded': { topic: 'video.uploaded', schemaVersion: 1, schema: videoUploadedV1 },
  'video.transcoded': { topic: 'video.transcoded', schemaVersion: 1, schema: videoTranscodedV1 },
  'video.transcode.failed': { topic: 'video.transcode.failed', schemaVersion: 1, schema: videoTranscodeFailedV1 },
  'video.thumbnails.generated': { topic: 'video.thumbnails.generated', schemaVersion: 1, schema: videoThumbnailsGeneratedV1 },
  'video.thumbnails.failed': { topic: 'video.thumbnails.failed', schemaVersion: 1, schema: videoThumbnailsFailedV1 },
  'video.moderated': { topic: 'video.moderated', schemaVersion: 1, schema: videoModeratedV1 },
  'video.ready': { topic: 'video.ready', schemaVersion: 1, schema: videoReadyV1 },
  'video.rejected': { topic: 'video.rejected', schemaVersion: 1, schema: videoRejectedV1 },
  'video.failed': { topic: 'video.failed', schemaVersion: 1, schema: videoFailedV1 },
  'video.deleted': { topic: 'video.deleted', schemaVersion: 1, schema: videoDeletedV1 },
} as const;

export type EventType = keyof typeof eventCatalog;
export type EventData<T extends EventType> = z.infer<(typeof eventCatalog)[T]['schema']>;

export const eventTypes = Object.keys(eventCatalog) as EventType[];
