import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import type { ObjectStorage, StoredVideo } from '@video-pipeline/storage';
import type { Logger } from '@video-pipeline/logging';
import type { VideoRepository } from '../video-repository';
import { videoView } from '../video-view';

export const MAX_TITLE_LENGTH = 500;

export interface CreateVideoDeps {
  videos: VideoRepository;
  storage: ObjectStorage;
  maxUploadBytes: number;
  logger: Logger;
}

export const videoObjectKey = (videoId: string) => `videos/${videoId}/original`;

/**
 * POST /v1/videos: streams the `file` part into storage, then records the
 * video and its event in one transaction, then answers. Any failure removes
 * what was already written, so a rejected upload leaves nothing behind.
 */
export function createVideoHandler(deps: CreateVideoDeps) {
  return async function createVideo(request: FastifyRequest, reply: FastifyReply) {
    if (!request.isMultipart()) {
      throw new PipelineError('not_multipart', 'send the video as multipart/form-data with the file in the field "file"');
    }
    const videoId = randomUUID();
    const key = videoObjectKey(videoId);
    // A client that goes away mid-upload cancels the upload rather than leaving a half-written object.
    const cancel = new AbortController();
    const onClose = () => {
      if (!request.raw.complete) cancel.abort();
    };
    request.raw.once('close', onClose);

    let stored: StoredVideo | undefined;
    let title: string | null | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.type === 'file' && part.fieldname === 'file') {
          if (stored) throw new PipelineError('duplicate_field', 'send exactly one file in the field "file"');
          stored = await deps.storage.uploadVideo(key, part.file, { maxBytes: deps.maxUploadBytes, signal: cancel.signal });
        } else if (part.type === 'field' && part.fieldname === 'title') {
          if (title !== undefined) throw new PipelineError('duplicate_field', 'send at most one "title"');
          title = parseTitle(part.value);
        } else {
          if (part.type === 'file') part.file.resume();
          throw new PipelineError('unknown_field', `unknown field "${part.fieldname}"; expected "file" and optionally "title"`, {
            details: { field: part.fieldname },
          });
        }
      }
      if (!stored) throw new PipelineError('missing_file', 'no file was sent; put the video in the multipart field "file"');

      const video = await deps.videos.createUploaded({ id: videoId, ownerId: request.ownerId, title: title ?? null, object: stored }).catch((error: unknown) => {
        throw new PipelineError('database_unavailable', 'could not record the video; nothing was kept, try again', { cause: error });
      });
      return reply.code(201).header('location', `/v1/videos/${video.id}`).send(videoView(video));
    } catch (error) {
      if (stored) {
        await deps.storage.deleteObject(key).catch((cleanupError: unknown) => {
          deps.logger.error({ err: cleanupError, key }, 'could not remove the object of a failed upload');
        });
      }
      if (isPipelineError(error)) throw error;
      // Everything else thrown here comes from parsing the multipart body.
      throw cancel.signal.aborted
        ? new PipelineError('upload_aborted', 'the client went away mid-upload', { cause: error })
        : new PipelineError('invalid_request', `the multipart body is malformed: ${(error as Error).message}`, { cause: error });
    } finally {
      request.raw.off('close', onClose);
    }
  };
}

function parseTitle(value: unknown): string | null {
  const title = String(value).trim();
  if (title.length > MAX_TITLE_LENGTH) {
    throw new PipelineError('invalid_request', `title is longer than ${MAX_TITLE_LENGTH} characters`);
  }
  return title === '' ? null : title;
}
