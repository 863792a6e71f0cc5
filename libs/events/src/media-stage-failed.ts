import { z } from 'zod';

/**
 * Data of `video.transcode.failed` and `video.thumbnails.failed`, schema
 * version 1: the stage ended for good without its output. `reason.code` is
 * one of the pipeline's error codes (`media_*` for a refused upload); the
 * message is for people.
 */
export const mediaStageFailedV1 = <Stage extends string>(stage: Stage) =>
  z.object({
    schemaVersion: z.literal(1),
    videoId: z.uuid(),
    ownerId: z.string().min(1),
    stage: z.literal(stage),
    reason: z.object({ code: z.string().min(1), message: z.string() }),
    /** When the failing attempt started (absent when the stage failed before an attempt started). */
    startedAt: z.iso.datetime({ offset: true }).optional(),
    failedAt: z.iso.datetime({ offset: true }),
  });

export const videoTranscodeFailedV1 = mediaStageFailedV1('transcode');
export const videoThumbnailsFailedV1 = mediaStageFailedV1('thumbnails');

export type VideoTranscodeFailedV1 = z.infer<typeof videoTranscodeFailedV1>;
export type VideoThumbnailsFailedV1 = z.infer<typeof videoThumbnailsFailedV1>;
