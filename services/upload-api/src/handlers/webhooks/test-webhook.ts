import { newEventId } from '@video-pipeline/events';
import { TEST_EVENT_TYPE, webhookBody } from '@video-pipeline/webhooks';
import { defineRoute } from '../../http/route';
import { deliverySchema, deliveryView, webhookIdParams, type WebhookRouteDeps } from '../../webhook-schemas';
import { ownedWebhook } from './owned-webhook';

/** POST /v1/webhooks/:id/test — a `webhook.test` message, sent like any other (signed, retried). */
export function testWebhookRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'testWebhook',
    method: 'post',
    path: '/v1/webhooks/{id}/test',
    tags: ['webhooks'],
    summary: 'Send a test message to a webhook endpoint',
    description: 'A `webhook.test` delivery, due at once; follow it in the deliveries.',
    auth: 'owner',
    params: webhookIdParams,
    responses: { 202: { description: 'the delivery, queued', schema: deliverySchema } },
    errors: ['not_found', 'database_unavailable'],
    async handle({ params: { id }, ownerId }) {
      const subscription = await ownedWebhook(deps, ownerId, id);
      const now = new Date(deps.clock.now());
      const eventId = newEventId(now.getTime());
      const body = webhookBody(TEST_EVENT_TYPE, now.toISOString(), { webhookSubscriptionId: subscription.id, message: 'a test message from the video pipeline' });
      const delivery = await deps.repository.createDelivery(subscription.id, { eventId, eventType: TEST_EVENT_TYPE, body }, now);
      return { status: 202, body: deliveryView({ ...delivery, attemptLog: [] }) };
    },
  });
}
