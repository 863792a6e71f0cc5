import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import { defineRoute } from '../http/route';
import type { LifecycleStore } from '../lifecycle/lifecycle-store';
import { reviewDecisionSchema, reviewSchema } from '../lifecycle/schemas';
import { videoIdParams } from '../schemas';

/** POST /v1/reviews/:id — a reviewer approves or rejects a video waiting for review (admin keys). */
export function decideReviewRoute(store: LifecycleStore) {
  return defineRoute({
    operationId: 'decideReview',
    method: 'post',
    path: '/v1/reviews/{id}',
    tags: ['reviews'],
    summary: 'Approve or reject a video waiting for review',
    description: 'The decision, with its note, who made it and when, is recorded and completes the video\'s lifecycle: approved and processed is ready, rejected is rejected.',
    auth: 'admin',
    params: videoIdParams,
    body: { contentType: 'application/json', schema: reviewDecisionSchema },
    responses: { 200: { description: 'the review, recorded', schema: reviewSchema } },
    errors: ['not_found', 'review_not_pending', 'database_unavailable'],
    async handle({ params: { id }, body, caller }) {
      if (!isUuid(id)) throw new PipelineError('not_found', `no video ${id}`);
      const review = await store.decideReview(caller.adminName, id.toLowerCase(), body.decision, body.note ?? null);
      return { status: 200, body: { ...review, decidedAt: review.decidedAt.toISOString() } };
    },
  });
}
