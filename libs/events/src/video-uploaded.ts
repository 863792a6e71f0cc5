import { z } from 'zod';

/**
 * `video.uploaded`, schema version 1: a video's bytes are durably stored and
 * its row is committed. Emitted once per upload (delivery is at-least-once:
 * deduplicate on the CloudEvents id).
 */
export const videoUploadedV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  title: z.string().nullable(),
  object: z.object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    sizeBytes: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    contentType: z.string().min(1),
  }),
  uploadedAt: z.iso.datetime({ offset: true }),
});

export type VideoUploadedV1 = z.infer<typeof videoUploadedV1>;
