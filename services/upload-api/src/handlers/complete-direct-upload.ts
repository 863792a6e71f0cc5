import { defineRoute } from '../http/route';
import { completeDirectUploadBody, locationHeader, uploadIdParams, videoSchema } from '../schemas';
import type { DirectUploads } from '../uploads/direct-uploads';
import { IDEMPOTENCY_HEADER, fingerprintOf, idempotencyKeyHeader, withIdempotency, type IdempotencyKeys } from '../uploads/idempotency';
import { videoView } from '../video-view';

/** POST /v1/uploads/direct/:id/complete: checks the parts with storage and makes the video. */
export function completeDirectUploadRoute(uploads: DirectUploads, idempotency: IdempotencyKeys) {
  return defineRoute({
    operationId: 'completeDirectUpload',
    method: 'post',
    path: '/v1/uploads/direct/{id}/complete',
    tags: ['uploads'],
    summary: 'Complete a direct upload',
    description:
      'Checks every part with storage (present, of its size, with the ETag listed here), completes the object, sniffs and hashes it, ' +
      'then records the video and its `video.uploaded` event, once: a completion sent again, or at the same time, answers the same video ' +
      '(completions of one upload take turns; one that waited 30 s is answered `temporarily_unavailable`). ' +
      'A missing or wrong part, or a file that is not a video, is refused and the whole upload aborted: nothing is left. ' +
      `Takes an \`${IDEMPOTENCY_HEADER}\`.`,
    auth: 'owner',
    params: uploadIdParams,
    headers: idempotencyKeyHeader,
    body: { contentType: 'application/json', schema: completeDirectUploadBody },
    responses: { 201: { description: 'the video', schema: videoSchema, headers: locationHeader } },
    errors: [
      'not_found',
      'upload_incomplete',
      'unsupported_media_type',
      'storage_quota_exceeded',
      'upload_quota_exceeded',
      'idempotency_key_reused',
      'idempotency_in_progress',
      // Another completion of the upload ran past 30 s; sent again, this one answers its video.
      'temporarily_unavailable',
      'storage_unavailable',
      'database_unavailable',
    ],
    async handle({ req, ownerId, params: { id }, body, log }) {
      return withIdempotency(idempotency, { req, ownerId, operation: `complete direct upload ${id}`, fingerprint: fingerprintOf(id, JSON.stringify(body.parts)) }, async () => {
        const video = await uploads.complete(ownerId, id, body.parts, log);
        return { status: 201 as const, headers: { Location: `/v1/videos/${video.id}` }, body: videoView(video) };
      });
    },
  });
}
