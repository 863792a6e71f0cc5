import { loadConfig } from '@video-pipeline/config';
import { runConsumerWorker } from '@video-pipeline/consumer';
import { handleVideoUploaded } from './handlers/video-uploaded';
import { moderationDeps } from './moderation-deps';

// Sampling frames decodes the video once: the group's limits follow ffmpeg's time limit, as the media groups' do.
const handlerTimeoutMs = loadConfig(process.env, 'moderation').media.timeLimitMs + 5 * 60_000;

runConsumerWorker(
  'moderation',
  (worker) => ({
    'video.uploaded': handleVideoUploaded(moderationDeps(worker)),
    'video.transcoded': 'ignore',
    'video.transcode.failed': 'ignore',
    'video.thumbnails.generated': 'ignore',
    'video.thumbnails.failed': 'ignore',
    'video.moderated': 'ignore',
    'video.ready': 'ignore',
    'video.rejected': 'ignore',
    'video.failed': 'ignore',
    'video.deleted': 'ignore',
  }),
  { handlerTimeoutMs, rebalanceTimeoutMs: handlerTimeoutMs },
).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
