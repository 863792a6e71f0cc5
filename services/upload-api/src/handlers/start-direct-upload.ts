import { defineRoute } from '../http/route';
import { directUploadSchema, startDirectUploadBody } from '../schemas';
import type { DirectUploads } from '../uploads/direct-uploads';

/** POST /v1/uploads/direct: starts a multipart upload the client fills straight in storage. */
export function startDirectUploadRoute(uploads: DirectUploads) {
  return defineRoute({
    operationId: 'startDirectUpload',
    method: 'post',
    path: '/v1/uploads/direct',
    tags: ['uploads'],
    summary: 'Start a direct upload to storage',
    description:
      'Starts a multipart upload in storage and answers a presigned URL per part: PUT each part\'s bytes to its URL (in parallel, in any order), ' +
      'keep each answer\'s `ETag`, then call `completeUrl`. The owner\'s quota is checked against `sizeBytes` before anything starts. ' +
      'An upload not completed in time (UPLOAD_EXPIRY_HOURS) is removed.',
    auth: 'owner',
    body: { contentType: 'application/json', schema: startDirectUploadBody },
    responses: { 201: { description: 'started: send the parts', schema: directUploadSchema } },
    errors: ['file_too_large', 'storage_quota_exceeded', 'upload_quota_exceeded', 'storage_unavailable', 'database_unavailable'],
    async handle({ ownerId, body }) {
      return { status: 201, body: await uploads.start(ownerId, { sizeBytes: body.sizeBytes, partSizeBytes: body.partSizeBytes, title: body.title ?? null }) };
    },
  });
}
