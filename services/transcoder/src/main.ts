import { loadConfig } from '@video-pipeline/config';
import { runConsumerWorker } from '@video-pipeline/consumer';
import { transcoderHandlers } from './handlers';

// A transcode may run as long as ffmpeg's time limit; the group's limits follow it.
const handlerTimeoutMs = loadConfig(process.env, 'transcoder').media.timeLimitMs + 5 * 60_000;

runConsumerWorker('transcoder', transcoderHandlers, { handlerTimeoutMs, rebalanceTimeoutMs: handlerTimeoutMs }).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
