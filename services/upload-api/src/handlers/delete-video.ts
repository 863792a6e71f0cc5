import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import { defineRoute } from '../http/route';
import type { LifecycleStore } from '../lifecycle/lifecycle-store';
import { videoIdParams } from '../schemas';

/** DELETE /v1/videos/:id — the video, its files and its rows; a second delete answers 404. */
export function deleteVideoRoute(store: LifecycleStore) {
  return defineRoute({
    operationId: 'deleteVideo',
    method: 'delete',
    path: '/v1/videos/{id}',
    tags: ['videos'],
    summary: 'Delete your video',
    description: 'Removes the original, every rendition, poster and storyboard, and its records; work still running for it stops storing anything. Consumer teams get `video.deleted`. A second delete answers 404.',
    auth: 'owner',
    params: videoIdParams,
    responses: { 204: { description: 'deleted' } },
    errors: ['not_found', 'database_unavailable', 'storage_unavailable'],
    async handle({ params: { id }, ownerId }) {
      if (!isUuid(id) || !(await store.delete(ownerId, id.toLowerCase()))) throw new PipelineError('not_found', `no video ${id}`);
      return { status: 204, body: undefined };
    },
  });
}
