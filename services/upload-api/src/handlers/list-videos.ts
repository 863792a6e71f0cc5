import type { FastifyRequest } from 'fastify';
import { PipelineError } from '@video-pipeline/errors';
import { decodeCursor, encodeCursor } from '../cursor';
import type { VideoRepository } from '../video-repository';
import { videoView } from '../video-view';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** GET /v1/videos?limit=&cursor= — the owner's videos, newest first. */
export function listVideosHandler(videos: VideoRepository) {
  return async function listVideos(request: FastifyRequest<{ Querystring: { limit?: string; cursor?: string } }>) {
    const limit = parseLimit(request.query.limit);
    const after = request.query.cursor ? decodeCursor(request.query.cursor) : undefined;
    // One extra row tells whether another page exists without a count query.
    const rows = await videos.listForOwner(request.ownerId, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(videoView),
      nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  };
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new PipelineError('invalid_request', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
}
