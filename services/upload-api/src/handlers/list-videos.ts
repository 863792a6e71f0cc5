import { decodeCursor, encodeCursor } from '../cursor';
import { defineRoute } from '../http/route';
import { videoListQuery, videoPageSchema } from '../schemas';
import { playbackLinks, requestBaseUrl } from '../lifecycle/playback-links';
import type { PlaybackTokens } from '../lifecycle/playback-tokens';
import type { VideoRepository } from '../video-repository';
import { videoView } from '../video-view';

/** GET /v1/videos?limit=&cursor=&status= — the owner's videos, newest first. */
export function listVideosRoute(videos: VideoRepository, tokens: PlaybackTokens) {
  return defineRoute({
    operationId: 'listVideos',
    method: 'get',
    path: '/v1/videos',
    tags: ['videos'],
    summary: 'Your videos, newest first',
    auth: 'owner',
    query: videoListQuery,
    responses: { 200: { description: 'a page of videos', schema: videoPageSchema } },
    errors: ['invalid_cursor', 'database_unavailable'],
    async handle({ req, query: { limit, cursor, status }, ownerId }) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      // One extra row tells whether another page exists without a count query.
      const rows = await videos.listForOwner(ownerId, limit + 1, after, status);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        status: 200,
        body: {
          items: page.map((video) => videoView(video, playbackLinks(video, tokens, requestBaseUrl(req)))),
          nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
        },
      };
    },
  });
}
