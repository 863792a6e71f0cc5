import { z } from 'zod';

/**
 * The API's contract: what requests may carry and what answers hold. Routes
 * validate their input with these and the OpenAPI document is generated from
 * them, so the two cannot drift apart.
 */

export const MAX_TITLE_LENGTH = 500;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export const videoStatuses = ['uploaded', 'processing', 'ready', 'rejected', 'failed'] as const;

export const videoSchema = z
  // Loose: fields may be added (processing results, renditions), so clients must ignore the ones they do not know.
  .looseObject({
    id: z.uuid().meta({ example: 'de280d98-e060-4728-81fc-41356c7de1ef' }),
    title: z.string().nullable().meta({ description: 'null when none was given' }),
    status: z.enum(videoStatuses).meta({ description: 'uploaded → processing → ready | rejected | failed; the last three are final', example: 'processing' }),
    object: z
      .looseObject({
        bucket: z.string(),
        key: z.string().meta({ example: 'videos/de280d98-e060-4728-81fc-41356c7de1ef/original' }),
        sizeBytes: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/).meta({ description: 'lowercase hex SHA-256 of the stored bytes' }),
        contentType: z.string().meta({ description: 'sniffed from the file\'s first bytes, never taken from the client', example: 'video/mp4' }),
      })
      .meta({ description: 'where the original file is stored' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Video' });

export type VideoJson = z.infer<typeof videoSchema>;

export const videoPageSchema = z
  .object({
    items: z.array(videoSchema).meta({ description: 'newest first' }),
    nextCursor: z.string().nullable().meta({ description: 'pass as `cursor` for the next page; null on the last page' }),
  })
  .meta({ id: 'VideoPage' });

export const videoIdParams = z.object({
  // Any string: an id that is not a UUID answers 404 like a missing video, not 400.
  id: z.string().meta({ description: 'the video\'s id (a UUID)', example: 'de280d98-e060-4728-81fc-41356c7de1ef' }),
});

const pageLimitMessage = `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`;

export const videoListQuery = z.object({
  limit: z.coerce
    .number({ error: pageLimitMessage })
    .int({ error: pageLimitMessage })
    .min(1, { error: pageLimitMessage })
    .max(MAX_PAGE_SIZE, { error: pageLimitMessage })
    .default(DEFAULT_PAGE_SIZE)
    .meta({ description: 'videos per page' }),
  cursor: z.string().optional().meta({ description: 'the `nextCursor` of the previous page' }),
  status: z.enum(videoStatuses, { error: `status must be one of ${videoStatuses.join(', ')}` }).optional().meta({ description: 'only videos in this status' }),
});

export const uploadTitle = z
  .string()
  .trim()
  .max(MAX_TITLE_LENGTH, { error: `title is longer than ${MAX_TITLE_LENGTH} characters` })
  .transform((title) => (title === '' ? null : title));

/** The multipart form of an upload; parts arrive as a stream, so the handler checks them one by one against this shape. */
export const uploadForm = z.object({
  file: z.file().meta({ description: 'the video; its type is sniffed from its bytes, its name and Content-Type are ignored' }),
  title: uploadTitle.optional().meta({ description: `at most ${MAX_TITLE_LENGTH} characters; surrounding white space is dropped` }),
});

export const locationHeader = z.object({
  Location: z.string().meta({ description: 'the new video\'s URL', example: '/v1/videos/de280d98-e060-4728-81fc-41356c7de1ef' }),
});

export const healthSchema = z.object({ status: z.literal('ok') });

export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), z.object({ status: z.enum(['ok', 'failing']), error: z.string().optional() })),
  })
  .meta({ id: 'Readiness' });

/** The OpenAPI document itself: an object, described by the OpenAPI specification rather than here. */
export const openApiDocumentSchema = z.looseObject({ openapi: z.string() });

// ---- Direct uploads (issue 22) ----

export const uploadIdParams = z.object({ id: z.string().meta({ description: 'the upload\'s id, as its start answered it' }) });

export const startDirectUploadBody = z
  .object({
    sizeBytes: z.number().int().positive().meta({ description: 'the file\'s exact size in bytes' }),
    partSizeBytes: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .max(5 * 1024 ** 3)
      .optional()
      .meta({ description: 'bytes per part (5 MiB to 5 GiB; every part but the last has exactly this size); by default the smallest that fits 10 000 parts, at least 8 MiB' }),
    title: uploadTitle.optional().meta({ description: `at most ${MAX_TITLE_LENGTH} characters` }),
  })
  .strict()
  .meta({ id: 'StartDirectUpload' });

export const directUploadSchema = z
  .object({
    id: z.string(),
    sizeBytes: z.number().int(),
    partSizeBytes: z.number().int(),
    parts: z.array(z.object({ partNumber: z.number().int(), sizeBytes: z.number().int(), url: z.string().meta({ description: 'PUT the part\'s bytes here, straight to storage; keep the answer\'s ETag header' }) })),
    urlsExpireAt: z.string().meta({ description: 'when the part URLs stop working' }),
    expiresAt: z.string().meta({ description: 'when the unfinished upload is removed' }),
    completeUrl: z.string(),
  })
  .meta({ id: 'DirectUpload' });

export const completeDirectUploadBody = z
  .object({
    parts: z
      .array(z.object({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().min(1).max(200) }).strict())
      .min(1)
      .max(10_000)
      .meta({ description: 'every part, with the ETag storage answered when it was stored' }),
  })
  .strict()
  .meta({ id: 'CompleteDirectUpload' });
