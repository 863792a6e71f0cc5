import type { EventHandlers } from '@video-pipeline/consumer';
import { handleVideoDeleted } from './video-deleted';
import { handleVideoFailed } from './video-failed';
import { handleVideoModerated } from './video-moderated';
import { handleVideoReady } from './video-ready';
import { handleVideoRejected } from './video-rejected';
import { handleVideoThumbnailsFailed } from './video-thumbnails-failed';
import { handleVideoThumbnailsGenerated } from './video-thumbnails-generated';
import { handleVideoTranscodeFailed } from './video-transcode-failed';
import { handleVideoTranscoded } from './video-transcoded';
import { handleVideoUploaded } from './video-uploaded';

/** The analytics group records one fact per video event; the numbers are SQL over the facts (`@video-pipeline/analytics`). */
export const analyticsHandlers: EventHandlers = {
  'video.uploaded': handleVideoUploaded,
  'video.transcoded': handleVideoTranscoded,
  'video.transcode.failed': handleVideoTranscodeFailed,
  'video.thumbnails.generated': handleVideoThumbnailsGenerated,
  'video.thumbnails.failed': handleVideoThumbnailsFailed,
  'video.moderated': handleVideoModerated,
  'video.ready': handleVideoReady,
  'video.rejected': handleVideoRejected,
  'video.failed': handleVideoFailed,
  'video.deleted': handleVideoDeleted,
};
