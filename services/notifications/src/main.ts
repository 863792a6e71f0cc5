import { Registry } from 'prom-client';
import { runConsumerWorker } from '@video-pipeline/consumer';
import { notificationsHandlers } from './handlers';
import { runWebhookDispatcher } from './webhook-dispatcher';

// The group turns every video event into deliveries to its owner's webhooks; the dispatcher, beside it in this process, sends them.
// One registry: the worker's /metrics serves the dispatcher's figures too.
const registry = new Registry();
Promise.all([
  runConsumerWorker('notifications', () => notificationsHandlers, { registry }),
  runWebhookDispatcher({ registry }),
]).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
