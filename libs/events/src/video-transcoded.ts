import { z } from 'zod';

/** One rung of an HLS ladder, as the master playlist announces it. */
export const renditionV1 = z.object({
  /** `1080p`, `720p`, ...: the rung's short side. */
  name: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Peak bits per second over any segment (the master playlist's BANDWIDTH). */
  bandwidth: z.number().int().positive(),
  /** Mean bits per second over the whole rung (AVERAGE-BANDWIDTH). */
  averageBandwidth: z.number().int().positive(),
  /** RFC 6381 codecs, e.g. `avc1.640028,mp4a.40.2` (no audio codec when the source had no audio). */
  codecs: z.string().min(1),
  frameRate: z.number().positive(),
  /** The rung's media playlist, in the video's bucket. */
  playlistKey: z.string().min(1),
});

/**
 * `video.transcoded`, schema version 1: the video's adaptive HLS ladder is
 * complete in storage. Published once per video (delivery is at-least-once:
 * deduplicate on the CloudEvents id).
 */
export const videoTranscodedV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  bucket: z.string().min(1),
  /** The master playlist: what a player opens. */
  masterPlaylistKey: z.string().min(1),
  durationSeconds: z.number().nonnegative(),
  /** Highest rung first. */
  renditions: z.array(renditionV1).min(1),
  /** When the attempt that made it started: transcodedAt − startedAt is the stage's processing time. */
  startedAt: z.iso.datetime({ offset: true }),
  transcodedAt: z.iso.datetime({ offset: true }),
});

export type VideoTranscodedV1 = z.infer<typeof videoTranscodedV1>;
export type RenditionV1 = z.infer<typeof renditionV1>;
