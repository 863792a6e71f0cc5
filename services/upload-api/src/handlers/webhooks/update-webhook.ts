import { PipelineError } from '@video-pipeline/errors';
import { defineRoute } from '../../http/route';
import { updateWebhookBody, webhookIdParams, webhookSchema, webhookView, type WebhookRouteDeps } from '../../webhook-schemas';
import { acceptableUrl, ownedWebhook } from './owned-webhook';

/** PATCH /v1/webhooks/:id — change the URL or the events, disable, or re-enable (which forgets the run of failures). */
export function updateWebhookRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'updateWebhook',
    method: 'patch',
    path: '/v1/webhooks/{id}',
    tags: ['webhooks'],
    summary: 'Change, disable or re-enable a webhook subscription',
    description: '`enabled: true` re-enables an endpoint the pipeline disabled after a long run of failures; its pending deliveries go out again.',
    auth: 'owner',
    params: webhookIdParams,
    body: { contentType: 'application/json', schema: updateWebhookBody },
    responses: { 200: { description: 'the subscription as it is now', schema: webhookSchema } },
    errors: ['not_found', 'webhook_target_refused', 'database_unavailable'],
    async handle({ params: { id }, body, ownerId }) {
      const current = await ownedWebhook(deps, ownerId, id);
      const url = body.url === undefined ? undefined : await acceptableUrl(deps, body.url);
      const updated = await deps.repository.update(ownerId, current.id, { ...body, url }, new Date(deps.clock.now()));
      if (!updated) throw new PipelineError('not_found', `no webhook ${id}`);
      return { status: 200, body: webhookView(updated, deps.clock.now()) };
    },
  });
}
