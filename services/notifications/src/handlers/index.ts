import type { EventHandlers } from '@video-pipeline/consumer';
import { fanOutToWebhooks } from './fan-out-to-webhooks';

/** The notifications group's handler map: every video event becomes deliveries to its owner's webhooks. */
export const notificationsHandlers: EventHandlers = {
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
};
