import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import { defineRoute } from '../http/route';
import { videoIdParams, videoSchema } from '../schemas';
import { playbackLinks, requestBaseUrl } from '../lifecycle/playback-links';
import type { PlaybackTokens } from '../lifecycle/playback-tokens';
import type { VideoRepository } from '../video-repository';
import { videoView } from '../video-view';

/** GET /v1/videos/:id — another owner's video answers 404, exactly like a missing one. */
export function getVideoRoute(videos: VideoRepository, tokens: PlaybackTokens) {
  return defineRoute({
    operationId: 'getVideo',
    method: 'get',
    path: '/v1/videos/{id}',
    tags: ['videos'],
    summary: 'One of your videos',
    description: 'Another owner\'s video answers 404, exactly like a missing one.',
    auth: 'owner',
    params: videoIdParams,
    responses: { 200: { description: 'the video', schema: videoSchema } },
    errors: ['not_found', 'database_unavailable'],
    async handle({ req, params: { id }, ownerId }) {
      const video = isUuid(id) ? await videos.findForOwner(ownerId, id.toLowerCase()) : null;
      if (!video) throw new PipelineError('not_found', `no video ${id}`);
      return { status: 200, body: videoView(video, playbackLinks(video, tokens, requestBaseUrl(req))) };
    },
  });
}
