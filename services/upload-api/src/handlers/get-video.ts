import type { FastifyRequest } from 'fastify';
import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import type { VideoRepository } from '../video-repository';
import { videoView } from '../video-view';

/** GET /v1/videos/:id — another owner's video answers 404, exactly like a missing one. */
export function getVideoHandler(videos: VideoRepository) {
  return async function getVideo(request: FastifyRequest<{ Params: { id: string } }>) {
    const { id } = request.params;
    const video = isUuid(id) ? await videos.findForOwner(request.ownerId, id.toLowerCase()) : null;
    if (!video) throw new PipelineError('not_found', `no video ${id}`);
    return videoView(video);
  };
}
