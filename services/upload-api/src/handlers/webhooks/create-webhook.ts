import { newSigningSecret } from '@video-pipeline/webhooks';
import { defineRoute } from '../../http/route';
import { createWebhookBody, webhookView, webhookWithSecretSchema, type WebhookRouteDeps } from '../../webhook-schemas';
import { acceptableUrl } from './owned-webhook';

/** POST /v1/webhooks — a subscription for the caller's owner; its secret is in this answer only. */
export function createWebhookRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'createWebhook',
    method: 'post',
    path: '/v1/webhooks',
    tags: ['webhooks'],
    summary: 'Subscribe an endpoint to events of your videos',
    description: 'The answer holds the signing secret (`whsec_…`), shown this once. A URL that is not https or whose host is not a public address is refused (`webhook_target_refused`).',
    auth: 'owner',
    body: { contentType: 'application/json', schema: createWebhookBody },
    responses: { 201: { description: 'the subscription, with its secret', schema: webhookWithSecretSchema } },
    errors: ['webhook_target_refused', 'database_unavailable'],
    async handle({ body, ownerId }) {
      const url = await acceptableUrl(deps, body.url);
      const secret = newSigningSecret();
      const subscription = await deps.repository.create({ ownerId, url, events: body.events, secret });
      return { status: 201, body: { ...webhookView(subscription, deps.clock.now()), secret } };
    },
  });
}

