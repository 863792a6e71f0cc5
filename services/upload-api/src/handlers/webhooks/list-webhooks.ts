import { decodeCursor } from '../../cursor';
import { defineRoute } from '../../http/route';
import { pageOf, pageQuery, webhookPageSchema, webhookView, type WebhookRouteDeps } from '../../webhook-schemas';

/** GET /v1/webhooks — the caller's subscriptions, newest first. */
export function listWebhooksRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'listWebhooks',
    method: 'get',
    path: '/v1/webhooks',
    tags: ['webhooks'],
    summary: 'Your webhook subscriptions, newest first',
    auth: 'owner',
    query: pageQuery,
    responses: { 200: { description: 'a page of subscriptions', schema: webhookPageSchema } },
    errors: ['invalid_cursor', 'database_unavailable'],
    async handle({ query: { limit, cursor }, ownerId }) {
      const rows = await deps.repository.list(ownerId, limit + 1, cursor ? decodeCursor(cursor) : undefined);
      const now = deps.clock.now();
      return { status: 200, body: pageOf(rows, limit, (row) => webhookView(row, now)) };
    },
  });
}
