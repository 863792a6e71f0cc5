import type { EventHandlers, WorkerDeps } from '@video-pipeline/consumer';
import { moderationDeps } from '../moderation-deps';
import { handleVideoUploaded } from './video-uploaded';

/** The moderation group's handler map; first sweeps the work folders that dead workers left. */
export function moderationHandlers(worker: WorkerDeps): EventHandlers {
  const deps = moderationDeps(worker);
  deps.media.workDirs.sweep().catch((error: unknown) => worker.logger.warn({ err: error }, 'could not sweep the work folders of dead workers'));
  return {
    'video.uploaded': handleVideoUploaded(deps),
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
