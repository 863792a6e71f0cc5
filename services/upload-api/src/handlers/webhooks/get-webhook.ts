import { defineRoute } from '../../http/route';
import { webhookIdParams, webhookSchema, webhookView, type WebhookRouteDeps } from '../../webhook-schemas';
import { ownedWebhook } from './owned-webhook';

/** GET /v1/webhooks/:id — one of the caller's subscriptions (never its secret). */
export function getWebhookRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'getWebhook',
    method: 'get',
    path: '/v1/webhooks/{id}',
    tags: ['webhooks'],
    summary: 'One of your webhook subscriptions',
    description: 'Says whether it is enabled, and if the pipeline disabled it, when and why. Another owner\'s answers 404.',
    auth: 'owner',
    params: webhookIdParams,
    responses: { 200: { description: 'the subscription', schema: webhookSchema } },
    errors: ['not_found', 'database_unavailable'],
    async handle({ params: { id }, ownerId }) {
      return { status: 200, body: webhookView(await ownedWebhook(deps, ownerId, id), deps.clock.now()) };
    },
  });
}
