import { decodeCursor } from '../../cursor';
import { defineRoute } from '../../http/route';
import { deliveryPageSchema, deliveryView, pageOf, pageQuery, webhookIdParams, type WebhookRouteDeps } from '../../webhook-schemas';
import { ownedWebhook } from './owned-webhook';

/** GET /v1/webhooks/:id/deliveries — newest first, each with its attempts. */
export function listWebhookDeliveriesRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'listWebhookDeliveries',
    method: 'get',
    path: '/v1/webhooks/{id}/deliveries',
    tags: ['webhooks'],
    summary: 'A webhook subscription\'s deliveries and their attempts, newest first',
    description: 'Each attempt says when, the status code, the latency and the error; a pending delivery says when it is tried next.',
    auth: 'owner',
    params: webhookIdParams,
    query: pageQuery,
    responses: { 200: { description: 'a page of deliveries', schema: deliveryPageSchema } },
    errors: ['not_found', 'invalid_cursor', 'database_unavailable'],
    async handle({ params: { id }, query: { limit, cursor }, ownerId }) {
      const subscription = await ownedWebhook(deps, ownerId, id);
      const rows = await deps.repository.listDeliveries(subscription.id, limit + 1, cursor ? decodeCursor(cursor) : undefined);
      return { status: 200, body: pageOf(rows, limit, deliveryView) };
    },
  });
}
