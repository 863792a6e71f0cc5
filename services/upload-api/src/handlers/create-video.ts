import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import { DigestStream, type ObjectStorage, type StoredVideo } from '@video-pipeline/storage';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { askForBody } from '../http/early-answers';
import { defineRoute } from '../http/route';
import { formParts } from '../multipart';
import { IDEMPOTENCY_HEADER, REPLAYED_HEADER, fingerprintOf, idempotencyKeyHeader, idempotencyKeyOf, reused, type IdempotencyKeys } from '../uploads/idempotency';
import type { PendingUploads } from '../uploads/pending-uploads';
import type { QuotaLimits } from '../uploads/quotas';
import { locationHeader, uploadForm, videoSchema } from '../schemas';
import type { VideoRepository } from '../video-repository';
import { videoView } from '../video-view';

export interface CreateVideoDeps {
  videos: VideoRepository;
  storage: ObjectStorage;
  maxUploadBytes: number;
  quotas: QuotaLimits;
  pending: PendingUploads;
  idempotency: IdempotencyKeys;
}

const OPERATION = 'POST /v1/videos';

export const videoObjectKey = (videoId: string) => `videos/${videoId}/original`;

/**
 * Room for a body's multipart framing and title beside the largest file: a
 * body declared larger than the limit plus this cannot hold an acceptable
 * file, and is refused before it is read.
 */
export const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;

const notMultipart = () => new PipelineError('not_multipart', 'send the video as multipart/form-data with the file in the field "file"');

/**
 * POST /v1/videos: streams the `file` part into storage, then records the
 * video and its event in one transaction, then answers. Any failure removes
 * what was already written, so a rejected upload leaves nothing behind.
 */
export function createVideoRoute(deps: CreateVideoDeps) {
  const declaredTooLarge = () =>
    new PipelineError('file_too_large', `the body's declared length cannot hold a file within the limit of ${deps.maxUploadBytes} bytes`, {
      details: { maxBytes: deps.maxUploadBytes },
    });
  return defineRoute({
    operationId: 'createVideo',
    method: 'post',
    path: '/v1/videos',
    tags: ['videos'],
    summary: 'Upload a video',
    description:
      'The file streams straight into storage, its size and SHA-256 computed on the way and its type sniffed from its first bytes. ' +
      'Only once it is stored are the video and its `video.uploaded` event recorded, in one transaction. A refused or aborted upload leaves nothing behind. ' +
      `A body declared (Content-Length) larger than the upload limit plus ${MULTIPART_OVERHEAD_BYTES} bytes is refused before it is read, ` +
      'and one whose file cannot fit the owner\'s quota too. ' +
      `With an \`${IDEMPOTENCY_HEADER}\` header, a retry of the same upload (same file, same title) within a day gets the first answer again ` +
      `(with \`${REPLAYED_HEADER}: true\`) and creates nothing; the same key with another upload is refused.`,
    auth: 'owner',
    headers: idempotencyKeyHeader,
    body: { contentType: 'multipart/form-data', schema: uploadForm, description: 'the file in the field `file`, optionally a `title`; no other fields' },
    responses: { 201: { description: 'stored, recorded and announced', schema: videoSchema, headers: locationHeader } },
    errors: [
      'not_multipart',
      'missing_file',
      'empty_file',
      'unknown_field',
      'duplicate_field',
      'file_too_large',
      'too_many_parts',
      'unsupported_media_type',
      'upload_aborted',
      'storage_quota_exceeded',
      'upload_quota_exceeded',
      'idempotency_key_reused',
      'idempotency_in_progress',
      'storage_unavailable',
      'database_unavailable',
    ],
    async handle({ req, res, ownerId, log }) {
      if (!req.is('multipart/form-data')) throw notMultipart();
      if (declaredLength(req) > deps.maxUploadBytes + MULTIPART_OVERHEAD_BYTES) throw declaredTooLarge();
      const idempotencyKey = idempotencyKeyOf(req);
      await deps.pending.checkQuota(ownerId, Math.max(0, declaredLength(req) - MULTIPART_OVERHEAD_BYTES));
      if (idempotencyKey) {
        const claim = await deps.idempotency.begin(ownerId, idempotencyKey, OPERATION);
        if (claim.kind === 'done') {
          // A retry: its file is read and hashed, not stored, to tell the same upload from another under the same key.
          askForBody(req, res);
          const { title, sha256 } = await readForm(req);
          if (fingerprintOf(title, sha256) !== claim.fingerprint) throw reused(idempotencyKey);
          return { ...claim.answer, headers: { ...claim.answer.headers, [REPLAYED_HEADER]: 'true' } } as never;
        }
        try {
          const answer = await upload();
          await deps.idempotency.finish(ownerId, idempotencyKey, fingerprintOf(answer.body.title, answer.body.object.sha256), answer);
          return answer;
        } catch (error) {
          await deps.idempotency.release(ownerId, idempotencyKey).catch((releaseError: unknown) => log.error({ err: releaseError }, 'could not release an idempotency key'));
          throw error;
        }
      }
      return upload();

      async function upload() {
        askForBody(req, res);

        const videoId = randomUUID();
        const key = videoObjectKey(videoId);
        // A client that goes away mid-upload cancels the upload rather than leaving a half-written object.
        const cancel = new AbortController();
        const onClose = () => {
          if (!req.complete) cancel.abort();
        };
        req.once('close', onClose);
        if (req.closed) onClose();

        let stored: StoredVideo | undefined;
        let title: string | null | undefined;
        try {
          const parts = formParts(req, {
            // One byte over the limit, so the upload's own counter sees the excess and answers file_too_large.
            fileSize: deps.maxUploadBytes + 1,
            fieldSize: 16 * 1024,
            fields: 8,
            files: 4,
            parts: 12,
            headerPairs: 100,
          });
          for await (const part of parts) {
            if (part.kind === 'file' && part.name === 'file') {
              if (stored) throw new PipelineError('duplicate_field', 'send exactly one file in the field "file"');
              stored = await deps.storage.uploadVideo(key, part.stream, { maxBytes: deps.maxUploadBytes, signal: cancel.signal });
            } else if (part.kind === 'field' && part.name === 'title') {
              if (title !== undefined) throw new PipelineError('duplicate_field', 'send at most one "title"');
              title = parseTitle(part.value);
            } else {
              throw new PipelineError('unknown_field', `unknown field "${part.name}"; expected "file" and optionally "title"`, { details: { field: part.name } });
            }
          }
          if (!stored) throw new PipelineError('missing_file', 'no file was sent; put the video in the multipart field "file"');

          // With a key, the upload's id is the key's: even a retry that finds no answer kept (its first request died after
          // recording the video) gets the first video, not a second.
          const uploadId = idempotencyKey ? `idempotency:${ownerId}:${idempotencyKey}` : videoId;
          const completion = await deps.videos
            .completeUpload(uploadId, { id: videoId, ownerId, title: title ?? null, object: stored }, { quotas: deps.quotas })
            .catch((error: unknown) => {
              if (isPipelineError(error)) throw error;
              throw new PipelineError('database_unavailable', 'could not record the video; nothing was kept, try again', { cause: error });
            });
          if (!completion.created) await deps.storage.deleteObject(key);
          const video = completion.video;
          return { status: 201 as const, headers: { Location: `/v1/videos/${video.id}` }, body: videoView(video) };
        } catch (error) {
          if (stored) {
            await deps.storage.deleteObject(key).catch((cleanupError: unknown) => {
              log.error({ err: cleanupError, key }, 'could not remove the object of a failed upload');
            });
          }
          if (isPipelineError(error)) throw error;
          throw cancel.signal.aborted
            ? new PipelineError('upload_aborted', 'the client went away mid-upload', { cause: error })
            : new PipelineError('invalid_request', `the upload failed: ${(error as Error).message}`, { cause: error });
        } finally {
          req.off('close', onClose);
        }
      }
    },
  });
}

/** Reads the form without storing the file: its title and its file's SHA-256 (a replayed upload's fingerprint). */
async function readForm(req: Request): Promise<{ title: string | null; sha256: string | undefined }> {
  let title: string | null = null;
  let sha256: string | undefined;
  for await (const part of formParts(req, { fieldSize: 16 * 1024, fields: 8, files: 4, parts: 12, headerPairs: 100 })) {
    if (part.kind === 'file' && part.name === 'file') {
      const digest = new DigestStream();
      await pipeline(part.stream, digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
      sha256 = digest.digest();
    } else if (part.kind === 'field' && part.name === 'title') {
      title = parseTitle(part.value);
    }
  }
  return { title, sha256 };
}

/** The declared size of the body, or 0 when it is sent in chunks of unknown total. */
function declaredLength(req: Request): number {
  const length = Number(req.headers['content-length']);
  return Number.isSafeInteger(length) ? length : 0;
}

function parseTitle(value: string): string | null {
  const parsed = uploadForm.shape.title.safeParse(value);
  if (!parsed.success) throw new PipelineError('invalid_request', parsed.error.issues[0]!.message);
  return parsed.data ?? null;
}
