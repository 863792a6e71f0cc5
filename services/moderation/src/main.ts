import { loadConfig } from '@video-pipeline/config';
import { runConsumerWorker } from '@video-pipeline/consumer';
import { moderationHandlers } from './handlers';

// Sampling frames reads the whole video: the group's limits follow ffmpeg's time limit, as the media groups' do.
const handlerTimeoutMs = loadConfig(process.env, 'moderation').media.timeLimitMs + 5 * 60_000;

runConsumerWorker('moderation', moderationHandlers, { handlerTimeoutMs, rebalanceTimeoutMs: handlerTimeoutMs }).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
