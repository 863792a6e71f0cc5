import { runConsumerWorker } from '@video-pipeline/consumer';
import { handleVideoUploaded } from './handlers/video-uploaded';

runConsumerWorker('thumbnailer', () => ({ 'video.uploaded': handleVideoUploaded })).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
