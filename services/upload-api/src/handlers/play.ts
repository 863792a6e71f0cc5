import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Prisma, PrismaClient } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import type { ObjectStorage } from '@video-pipeline/storage';
import { z } from 'zod';
import { defineRoute, type RouteCall } from '../http/route';
import type { PlaybackTokens } from '../lifecycle/playback-tokens';

const fileName = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/, { error: 'not a file of this video' });

/** By extension, for objects stored without a type. */
const contentTypes: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  ts: 'video/mp2t',
  webp: 'image/webp',
  jpg: 'image/jpeg',
  vtt: 'text/vtt',
};

const description = [
  'A ready video\'s HLS ladder and pictures, for players that send no Authorization header (hls.js, Safari, ffmpeg): the signed,',
  'expiring, owner-scoped token in the path is the credential, and relative URLs inside playlists keep it. Byte ranges (206),',
  'CORS for any origin. Take the URLs from the video\'s `playback`; an expired URL answers `playback_token_expired`.',
].join(' ');

const responses = {
  200: { description: 'the whole file, with its content type' },
  206: { description: 'the requested byte range' },
} as const;

const errors = ['playback_token_invalid', 'playback_token_expired', 'not_found', 'range_not_satisfiable', 'storage_unavailable', 'database_unavailable'] as const;

/** GET /v1/play/{token}/{file} — the master playlist (the ladder's top folder). */
export function playRootRoute(deps: PlayDeps) {
  return defineRoute({
    operationId: 'playFile',
    method: 'get',
    path: '/v1/play/{token}/{file}',
    tags: ['playback'],
    summary: 'A file of a ready video\'s HLS ladder, e.g. master.m3u8',
    description,
    auth: 'public',
    params: z.object({ token: z.string(), file: fileName }),
    responses,
    errors,
    handle: (call) => serve(call, deps, `hls/${call.params.file}`),
  });
}

/** GET /v1/play/{token}/{folder}/{file} — a rung's playlist and segments, or a picture under thumbnails/. */
export function playNestedRoute(deps: PlayDeps) {
  return defineRoute({
    operationId: 'playNestedFile',
    method: 'get',
    path: '/v1/play/{token}/{folder}/{file}',
    tags: ['playback'],
    summary: 'A rung\'s playlist or segment (`720p/index.m3u8`), or a picture (`thumbnails/poster-1280.webp`)',
    description,
    auth: 'public',
    params: z.object({ token: z.string(), folder: fileName, file: fileName }),
    responses,
    errors,
    handle: (call) => serve(call, deps, call.params.folder === 'thumbnails' ? `thumbnails/${call.params.file}` : `hls/${call.params.folder}/${call.params.file}`),
  });
}

export interface PlayDeps {
  prisma: PrismaClient;
  storage: ObjectStorage;
  tokens: PlaybackTokens;
}

type Call = RouteCall<z.ZodObject, undefined, 'public'>;

async function serve({ req, res, params }: Call, deps: PlayDeps, path: string): Promise<{ status: 200 | 206; body: undefined }> {
  const grant = deps.tokens.verify(String(params.token));
  // The token names the video and its owner; it opens that video only while it is the owner's and ready,
  // and its pictures (not its ladder) also while it waits for a reviewer, who sees them in the review queue.
  const ready: Prisma.VideoWhereInput = { status: 'ready' };
  const waitingForReview: Prisma.VideoWhereInput = { status: 'processing', stages: { some: { stage: 'moderation', status: 'needs_review' } } };
  const opens: Prisma.VideoWhereInput = path.startsWith('thumbnails/') ? { OR: [ready, waitingForReview] } : ready;
  const video = await deps.prisma.video.findFirst({ where: { id: grant.videoId, ownerId: grant.ownerId, ...opens }, select: { id: true } });
  if (!video) throw new PipelineError('not_found', 'no such video to play');
  const key = `videos/${video.id}/${path}`;
  const range = req.headers.range;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  let object;
  try {
    object = await deps.storage.client.send(new GetObjectCommand({ Bucket: deps.storage.bucket, Key: key, Range: range }), { abortSignal: abort.signal });
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) throw new PipelineError('not_found', `no file ${path} in this video`);
    if (status === 416) throw new PipelineError('range_not_satisfiable', `the range ${range} is outside the file`);
    throw new PipelineError('storage_unavailable', 'the storage did not answer; try again shortly', { cause: error });
  }
  const extension = path.split('.').at(-1) ?? '';
  const partial = Boolean(object.ContentRange);
  res.status(partial ? 206 : 200);
  res.setHeader('Content-Type', contentTypes[extension] ?? object.ContentType ?? 'application/octet-stream');
  if (object.ContentLength !== undefined) res.setHeader('Content-Length', String(object.ContentLength));
  if (object.ContentRange) res.setHeader('Content-Range', object.ContentRange);
  if (object.ETag) res.setHeader('ETag', object.ETag);
  res.setHeader('Accept-Ranges', 'bytes');
  // Players on any page may read it: the token is the credential, not the origin.
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, Accept-Ranges');
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  res.setHeader('Cache-Control', `private, max-age=${Math.max(0, Math.floor((grant.expiresAt.getTime() - Date.now()) / 1000))}`);
  await pipeline(object.Body as Readable, res).catch((error: unknown) => {
    if (!abort.signal.aborted) req.log.warn({ err: error, key }, 'playback stream failed');
  });
  return { status: partial ? 206 : 200, body: undefined };
}
