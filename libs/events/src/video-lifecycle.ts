import { z } from 'zod';

/**
 * The lifecycle's events: one answer to "is my video ready?" for consumer
 * teams. A video ends in exactly one of `video.ready`, `video.rejected` or
 * `video.failed`, published once when it gets there (delivery is
 * at-least-once: deduplicate on the CloudEvents id). `video.moderated`
 * announces each moderation decision; `video.deleted` a deletion.
 */

/** The stages a video goes through after its upload. */
export const videoStageNameV1 = z.enum(['transcode', 'thumbnails', 'moderation']);

/** Why a moderation check decided as it did; `code` is stable, `message` for people. */
export const moderationReasonV1 = z.object({
  /** Which check: e.g. `text_blocklist`, `media_policy`, `frame_hash`, `classifier`. */
  check: z.string().min(1),
  verdict: z.enum(['pass', 'reject', 'review']),
  code: z.string().min(1),
  message: z.string(),
});

/** `video.moderated`, schema version 1: a moderation decision, by the policy or by a reviewer. */
export const videoModeratedV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  decision: z.enum(['approved', 'rejected', 'needs_review']),
  reasons: z.array(moderationReasonV1),
  /** `policy`: the moderation group's checks; `reviewer`: a person with an admin key. */
  decidedBy: z.enum(['policy', 'reviewer']),
  /** The reviewer's name, when a reviewer decided. */
  reviewer: z.string().min(1).nullable(),
  note: z.string().nullable(),
  moderatedAt: z.iso.datetime({ offset: true }),
});

/** `video.ready`, schema version 1: transcoded, thumbnailed and approved; a player can play it. */
export const videoReadyV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  title: z.string().nullable(),
  durationSeconds: z.number().nonnegative(),
  masterPlaylistKey: z.string().min(1),
  /** Highest rung first. */
  renditions: z.array(z.object({ name: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive() })).min(1),
  uploadedAt: z.iso.datetime({ offset: true }),
  readyAt: z.iso.datetime({ offset: true }),
});

/** `video.rejected`, schema version 1: moderation rejected it, by its policy or a reviewer. */
export const videoRejectedV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  decidedBy: z.enum(['policy', 'reviewer']),
  reasons: z.array(moderationReasonV1),
  uploadedAt: z.iso.datetime({ offset: true }),
  rejectedAt: z.iso.datetime({ offset: true }),
});

/** `video.failed`, schema version 1: a required stage failed for good; `reason.code` is one of the pipeline's error codes. */
export const videoFailedV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  stage: videoStageNameV1,
  reason: z.object({ code: z.string().min(1), message: z.string() }),
  uploadedAt: z.iso.datetime({ offset: true }),
  failedAt: z.iso.datetime({ offset: true }),
});

/** `video.deleted`, schema version 1: its owner deleted it; its objects and rows are gone. */
export const videoDeletedV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  deletedAt: z.iso.datetime({ offset: true }),
});

export type VideoStageNameV1 = z.infer<typeof videoStageNameV1>;
export type ModerationReasonV1 = z.infer<typeof moderationReasonV1>;
export type VideoModeratedV1 = z.infer<typeof videoModeratedV1>;
export type VideoReadyV1 = z.infer<typeof videoReadyV1>;
export type VideoRejectedV1 = z.infer<typeof videoRejectedV1>;
export type VideoFailedV1 = z.infer<typeof videoFailedV1>;
export type VideoDeletedV1 = z.infer<typeof videoDeletedV1>;
