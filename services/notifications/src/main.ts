import { runConsumerWorker } from '@video-pipeline/consumer';
import { fanOutToWebhooks } from './handlers/fan-out-to-webhooks';
import { runWebhookDispatcher } from './webhook-dispatcher';

// The group turns every video event into deliveries to its owner's webhooks; the dispatcher, beside it in this process, sends them.
Promise.all([
  runConsumerWorker('notifications', () => ({
    'video.uploaded': fanOutToWebhooks,
    'video.transcoded': fanOutToWebhooks,
    'video.transcode.failed': fanOutToWebhooks,
    'video.thumbnails.generated': fanOutToWebhooks,
    'video.thumbnails.failed': fanOutToWebhooks,
    'video.moderated': fanOutToWebhooks,
    'video.ready': fanOutToWebhooks,
    'video.rejected': fanOutToWebhooks,
    'video.failed': fanOutToWebhooks,
    'video.deleted': fanOutToWebhooks,
  })),
  runWebhookDispatcher(),
]).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
