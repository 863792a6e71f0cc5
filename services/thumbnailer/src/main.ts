import { loadConfig } from '@video-pipeline/config';
import { runConsumerWorker } from '@video-pipeline/consumer';
import { thumbnailerHandlers } from './handlers';

// One decoding pass over a video may run as long as ffmpeg's time limit; the group's limits follow it.
const handlerTimeoutMs = loadConfig(process.env, 'thumbnailer').media.timeLimitMs + 5 * 60_000;

runConsumerWorker('thumbnailer', thumbnailerHandlers, { handlerTimeoutMs, rebalanceTimeoutMs: handlerTimeoutMs }).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
