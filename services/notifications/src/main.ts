import { runConsumerWorker } from '@video-pipeline/consumer';
import { notificationsHandlers } from './handlers';
import { runWebhookDispatcher } from './webhook-dispatcher';

// The group turns every video event into deliveries to its owner's webhooks; the dispatcher, beside it in this process, sends them.
Promise.all([
  runConsumerWorker('notifications', () => notificationsHandlers),
  runWebhookDispatcher(),
]).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
