import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import type { TextBlocklist } from '@video-pipeline/moderation-rules';
import { defineRoute } from '../http/route';
import type { LifecycleStore } from '../lifecycle/lifecycle-store';
import { playbackLinks, requestBaseUrl } from '../lifecycle/playback-links';
import type { PlaybackTokens } from '../lifecycle/playback-tokens';
import { videoEditSchema } from '../lifecycle/schemas';
import { videoIdParams, videoSchema } from '../schemas';
import type { VideoRepository } from '../video-repository';
import { videoView } from '../video-view';

/** PATCH /v1/videos/:id — edits the title and description, checked by moderation's text rules. */
export function updateVideoRoute(deps: { videos: VideoRepository; store: LifecycleStore; blocklist: TextBlocklist; tokens: PlaybackTokens }) {
  return defineRoute({
    operationId: 'updateVideo',
    method: 'patch',
    path: '/v1/videos/{id}',
    tags: ['videos'],
    summary: 'Edit your video\'s title and description',
    description: 'Checked by moderation\'s text rules: words on the blocklist answer `blocked_text` and nothing changes. An edit does not reopen a decision already made.',
    auth: 'owner',
    params: videoIdParams,
    body: { contentType: 'application/json', schema: videoEditSchema },
    responses: { 200: { description: 'the video, edited', schema: videoSchema } },
    errors: ['not_found', 'blocked_text', 'database_unavailable'],
    async handle({ req, params: { id }, body, ownerId }) {
      const videoId = id.toLowerCase();
      if (!isUuid(id) || !(await deps.store.editText(ownerId, videoId, body, deps.blocklist))) throw new PipelineError('not_found', `no video ${id}`);
      const video = await deps.videos.findForOwner(ownerId, videoId);
      if (!video) throw new PipelineError('not_found', `no video ${id}`);
      return { status: 200, body: videoView(video, playbackLinks(video, deps.tokens, requestBaseUrl(req))) };
    },
  });
}
