import { defineRoute } from '../http/route';
import type { LifecycleStore } from '../lifecycle/lifecycle-store';
import { requestBaseUrl, reviewPictures } from '../lifecycle/playback-links';
import type { PlaybackTokens } from '../lifecycle/playback-tokens';
import { reviewQueueQuery, reviewQueueSchema } from '../lifecycle/schemas';

/** GET /v1/reviews — videos waiting for a reviewer (admin keys), with signed URLs of their pictures. */
export function listReviewsRoute(store: LifecycleStore, tokens: PlaybackTokens) {
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
    async handle({ req, query: { limit } }) {
      const items = await store.pendingReviews(limit);
      const baseUrl = requestBaseUrl(req);
      return {
        status: 200,
        body: { items: items.map(({ thumbnails, ...item }) => ({ ...item, waitingSince: item.waitingSince.toISOString(), pictures: reviewPictures({ ...item, thumbnails }, tokens, baseUrl) })) },
      };
    },
  });
}
