import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { PipelineError, isPipelineError, type ErrorCode } from '@video-pipeline/errors';
import type { Logger } from '@video-pipeline/logging';
import type { ObjectStorage } from '@video-pipeline/storage';
import { authenticator } from './auth';
import { createVideoHandler } from './handlers/create-video';
import { getVideoHandler } from './handlers/get-video';
import type { DependencyCheck } from '@video-pipeline/health';
import { healthz, readyzHandler } from './handlers/health';
import { listVideosHandler } from './handlers/list-videos';
import type { VideoRepository } from './video-repository';

export interface UploadApiDeps {
  videos: VideoRepository;
  storage: ObjectStorage;
  apiKeys: ReadonlyMap<string, string>;
  maxUploadBytes: number;
  logger: Logger;
  /** Checked by /readyz, e.g. { database, storage, kafka }. */
  readinessChecks: Record<string, DependencyCheck>;
}

/** How much of an upload answered early we still read, and for how long, before we close its connection. */
const LINGER_BYTES = 8 * 1024 * 1024;
const LINGER_MS = 5_000;

/**
 * An early answer to an unfinished upload (a stray field before the file, a
 * file too large): the client is still sending. Closing the connection at
 * once resets it under the client's writes, and a client may then report
 * the reset instead of the answer (fetch on Node 24 does, every time, for a
 * 100 KB body). So read and drop the rest, the way a lingering close does,
 * but only so much: a body that goes on past LINGER_BYTES or LINGER_MS (a
 * large file) has its connection closed.
 */
function dropTheRest(request: IncomingMessage): void {
  let bytes = 0;
  const closeConnection = () => request.socket.destroy();
  const timer = setTimeout(closeConnection, LINGER_MS).unref();
  request.unpipe();
  request.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > LINGER_BYTES) closeConnection();
  });
  request.once('close', () => clearTimeout(timer));
  request.resume();
}

/** Builds the HTTP API; `main.ts` only wires dependencies and listens. */
export function buildUploadApi(deps: UploadApiDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: 64 * 1024 });

  // The API takes multipart uploads and nothing else: any other body is refused before it is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => {
    done(new PipelineError('not_multipart', 'send the video as multipart/form-data with the file in the field "file"'), undefined);
  });
  app.register(multipart, {
    limits: {
      // One byte over the limit, so the upload's own counter sees the excess and answers file_too_large.
      fileSize: deps.maxUploadBytes + 1,
      fieldSize: 16 * 1024,
      fields: 8,
      files: 4,
      parts: 12,
      headerPairs: 100,
    },
  });

  app.setErrorHandler((error: FastifyError | PipelineError, request, reply) => {
    const failure = asPipelineError(error);
    if (failure.status >= 500) request.log.error({ err: error }, failure.message);
    else request.log.info({ code: failure.code }, failure.message);
    if (!request.raw.complete) dropTheRest(request.raw);
    return reply.code(failure.status).send(failure.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const failure = new PipelineError('not_found', `no route ${request.method} ${request.url}`);
    return reply.code(404).send(failure.toJSON());
  });

  app.get('/healthz', healthz);
  app.get('/readyz', readyzHandler(deps.readinessChecks));

  app.register(async (api) => {
    api.addHook('onRequest', authenticator(deps.apiKeys));
    api.post('/v1/videos', createVideoHandler(deps));
    api.get('/v1/videos', listVideosHandler(deps.videos));
    api.get('/v1/videos/:id', getVideoHandler(deps.videos));
  });

  return app;
}

const multipartLimitCodes = new Set(['FST_FILES_LIMIT', 'FST_FIELDS_LIMIT', 'FST_PARTS_LIMIT']);

/** Maps framework and plugin errors onto our closed set of codes. */
function asPipelineError(error: FastifyError | PipelineError): PipelineError {
  if (isPipelineError(error)) return error;
  const status = error.statusCode ?? 500;
  const code: ErrorCode = multipartLimitCodes.has(error.code)
    ? 'too_many_parts'
    : error.code === 'FST_REQ_FILE_TOO_LARGE' || status === 413
      ? 'file_too_large'
      : error.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' || status === 415
        ? 'not_multipart'
        : status >= 400 && status < 500
          ? 'invalid_request'
          : 'internal';
  return new PipelineError(code, code === 'internal' ? 'something went wrong on our side' : error.message, { cause: error });
}
