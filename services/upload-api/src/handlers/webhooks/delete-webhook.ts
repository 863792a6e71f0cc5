import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import { defineRoute } from '../../http/route';
import { webhookIdParams, type WebhookRouteDeps } from '../../webhook-schemas';

/** DELETE /v1/webhooks/:id — the subscription and its deliveries (pending ones are not sent). */
export function deleteWebhookRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'deleteWebhook',
    method: 'delete',
    path: '/v1/webhooks/{id}',
    tags: ['webhooks'],
    summary: 'Delete a webhook subscription',
    description: 'Its pending deliveries are not sent.',
    auth: 'owner',
    params: webhookIdParams,
    responses: { 204: { description: 'deleted' } },
    errors: ['not_found', 'database_unavailable'],
    async handle({ params: { id }, ownerId }) {
      if (!isUuid(id) || !(await deps.repository.delete(ownerId, id.toLowerCase()))) throw new PipelineError('not_found', `no webhook ${id}`);
      return { status: 204, body: undefined };
    },
  });
}
