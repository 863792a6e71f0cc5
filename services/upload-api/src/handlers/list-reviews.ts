import { defineRoute } from '../http/route';
import type { LifecycleStore } from '../lifecycle/lifecycle-store';
import { reviewQueueQuery, reviewQueueSchema } from '../lifecycle/schemas';

/** GET /v1/reviews — videos waiting for a reviewer (admin keys). */
export function listReviewsRoute(store: LifecycleStore) {
  return defineRoute({
    operationId: 'listReviews',
    method: 'get',
    path: '/v1/reviews',
    tags: ['reviews'],
    summary: 'Videos waiting for a reviewer, longest waiting first',
    auth: 'admin',
    query: reviewQueueQuery,
    responses: { 200: { description: 'the review queue', schema: reviewQueueSchema } },
    errors: ['database_unavailable'],
    async handle({ query: { limit } }) {
      const items = await store.pendingReviews(limit);
      return { status: 200, body: { items: items.map((item) => ({ ...item, waitingSince: item.waitingSince.toISOString() })) } };
    },
  });
}
