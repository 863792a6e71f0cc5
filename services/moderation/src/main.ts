import { runConsumerWorker } from '@video-pipeline/consumer';
import { handleVideoUploaded } from './handlers/video-uploaded';

runConsumerWorker('moderation', () => ({
  'video.uploaded': handleVideoUploaded,
  'video.transcoded': 'ignore',
  'video.transcode.failed': 'ignore',
  'video.thumbnails.generated': 'ignore',
  'video.thumbnails.failed': 'ignore',
  'video.moderated': 'ignore',
  'video.ready': 'ignore',
  'video.rejected': 'ignore',
  'video.failed': 'ignore',
  'video.deleted': 'ignore',
})).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
