import { defineRoute } from '../http/route';
import { uploadIdParams } from '../schemas';
import type { DirectUploads } from '../uploads/direct-uploads';

/** DELETE /v1/uploads/direct/:id: aborts an unfinished direct upload. */
export function cancelDirectUploadRoute(uploads: DirectUploads) {
  return defineRoute({
    operationId: 'cancelDirectUpload',
    method: 'delete',
    path: '/v1/uploads/direct/{id}',
    tags: ['uploads'],
    summary: 'Abort a direct upload',
    description: 'Aborts the multipart upload in storage (its parts go) and forgets the upload. Another owner\'s upload answers 404.',
    auth: 'owner',
    params: uploadIdParams,
    responses: { 204: { description: 'aborted' } },
    errors: ['not_found', 'temporarily_unavailable', 'storage_unavailable', 'database_unavailable'],
    async handle({ ownerId, params: { id } }) {
      await uploads.cancel(ownerId, id);
      return { status: 204, body: undefined };
    },
  });
}
