import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import { isTerminal, type VideoStatus } from '@video-pipeline/lifecycle';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import type { VideoChangeFeed, VideoChangeRow } from '../lifecycle/video-change-feed';
import type { VideoRepository } from '../video-repository';

const description = [
  'Server-Sent Events (`text/event-stream`): one event per change of the video, in order, each with an `id`.',
  '`event: status` carries `{ status }`; `event: stage` carries `{ stage, status, progress, error }`; `event: deleted` ends it.',
  'The stream starts with the video\'s history (or after `Last-Event-ID`, so a reconnecting client gets each event once;',
  'a video that finished over 7 days ago keeps only its outcome),',
  'sends a `: heartbeat` comment when idle, and ends after the video reaches ready, rejected or failed.',
].join(' ');

/** GET /v1/videos/:id/events — the video's status and progress as Server-Sent Events. */
export function videoEventsRoute(deps: { videos: VideoRepository; feed: VideoChangeFeed; heartbeatMs: number }) {
  return defineRoute({
    operationId: 'watchVideo',
    method: 'get',
    path: '/v1/videos/{id}/events',
    tags: ['videos'],
    summary: 'Watch your video\'s status and progress (Server-Sent Events)',
    description,
    auth: 'owner',
    params: z.object({ id: z.string().meta({ description: 'the video\'s id (a UUID)' }) }),
    responses: { 200: { description: 'a text/event-stream of the video\'s changes' } },
    errors: ['not_found', 'invalid_request', 'database_unavailable'],
    async handle({ req, res, params: { id }, ownerId }) {
      const video = isUuid(id) ? await deps.videos.findForOwner(ownerId, id.toLowerCase()) : null;
      if (!video) throw new PipelineError('not_found', `no video ${id}`);
      const lastEventId = req.get('last-event-id');
      if (lastEventId !== undefined && !/^\d{1,18}$/.test(lastEventId.trim())) {
        throw new PipelineError('invalid_request', 'Last-Event-ID must be an id this stream sent', { details: { in: 'header', parameter: 'Last-Event-ID' } });
      }
      const after = BigInt(lastEventId?.trim() ?? 0);
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      // A video that ended before the client's last event has nothing more to say.
      if (isTerminal(video.status) && !(await deps.feed.hasChangesAfter(video.id, after))) res.end();
      else await stream(res, video.id, after, deps);
      return { status: 200, body: undefined };
    },
  });
}

function stream(res: import('express').Response, videoId: string, after: bigint, deps: { feed: VideoChangeFeed; heartbeatMs: number }): Promise<void> {
  return new Promise((resolve) => {
    let stop = () => {};
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.heartbeatMs);
    const finish = () => {
      clearInterval(heartbeat);
      stop();
      resolve();
    };
    res.on('close', finish);
    const end = () => {
      finish();
      res.end();
    };
    stop = deps.feed.watch(
      videoId,
      after,
      (rows: VideoChangeRow[]) => {
        for (const row of rows) {
          const { type, ...fields } = row.data;
          res.write(`id: ${row.seq}\nevent: ${type}\ndata: ${JSON.stringify({ videoId, ...fields, at: row.createdAt.toISOString() })}\n\n`);
          if (type === 'deleted' || (type === 'status' && isTerminal(fields.status as VideoStatus))) return end();
        }
      },
      end,
    );
  });
}
