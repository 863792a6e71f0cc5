import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import { defineRoute } from '../../http/route';
import { deliveryIdParams, deliverySchema, deliveryView, type WebhookRouteDeps } from '../../webhook-schemas';
import { ownedWebhook } from './owned-webhook';

/** POST /v1/webhooks/:id/deliveries/:deliveryId/retry — send it again now, whatever became of it. */
export function retryWebhookDeliveryRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'retryWebhookDelivery',
    method: 'post',
    path: '/v1/webhooks/{id}/deliveries/{deliveryId}/retry',
    tags: ['webhooks'],
    summary: 'Send a delivery again',
    description: 'Due at once, with the same `webhook-id`; a failed delivery gets one more attempt. One being sent at that moment is left to that attempt.',
    auth: 'owner',
    params: deliveryIdParams,
    responses: { 202: { description: 'the delivery, queued', schema: deliverySchema } },
    errors: ['not_found', 'database_unavailable'],
    async handle({ params: { id, deliveryId }, ownerId }) {
      const subscription = await ownedWebhook(deps, ownerId, id);
      const delivery = isUuid(deliveryId) ? await deps.repository.retryDelivery(subscription.id, deliveryId.toLowerCase(), new Date(deps.clock.now())) : null;
      if (!delivery) throw new PipelineError('not_found', `no delivery ${deliveryId} of webhook ${id}`);
      return { status: 202, body: deliveryView(delivery) };
    },
  });
}
