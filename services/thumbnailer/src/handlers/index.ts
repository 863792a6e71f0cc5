import type { EventHandlers, WorkerDeps } from '@video-pipeline/consumer';
import { mediaJobDeps } from '@video-pipeline/media-jobs';
import { handleVideoUploaded, videoUploadedDeadLettered } from './video-uploaded';

/** The thumbnailer's handler map; first sweeps the work folders that dead workers left. */
export function thumbnailerHandlers(worker: WorkerDeps): EventHandlers {
  const deps = mediaJobDeps('thumbnailer', worker);
  deps.media.workDirs.sweep().catch((error: unknown) => worker.logger.warn({ err: error }, 'could not sweep the work folders of dead workers'));
  return {
    'video.uploaded': { handle: handleVideoUploaded(deps), deadLettered: videoUploadedDeadLettered(deps) },
    'video.transcoded': 'ignore',
    'video.transcode.failed': 'ignore',
    'video.thumbnails.generated': 'ignore',
    'video.thumbnails.failed': 'ignore',
    'video.moderated': 'ignore',
    'video.ready': 'ignore',
    'video.rejected': 'ignore',
    'video.failed': 'ignore',
    'video.deleted': 'ignore',
  };
}
