import { z } from 'zod';

/** One poster image: a size in one format. */
export const posterImageV1 = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  format: z.enum(['webp', 'jpeg']),
  key: z.string().min(1),
});

/**
 * `video.thumbnails.generated`, schema version 1: the video's poster (in
 * several sizes and formats), its placeholder and its storyboard are in
 * storage. Published once per video.
 */
export const videoThumbnailsGeneratedV1 = z.object({
  schemaVersion: z.literal(1),
  videoId: z.uuid(),
  ownerId: z.string().min(1),
  bucket: z.string().min(1),
  /** Largest first. */
  posters: z.array(posterImageV1).min(1),
  /** A BlurHash of the poster (blurha.sh): a page paints it before any image loads. */
  placeholder: z.string().min(1),
  /** Where in the video the poster frame was taken. */
  posterTimeSeconds: z.number().nonnegative(),
  storyboard: z.object({
    /** One sprite sheet of evenly spaced frames. */
    spriteKey: z.string().min(1),
    /** WebVTT cues pointing into the sprite with `#xywh=`. */
    vttKey: z.string().min(1),
    tileWidth: z.number().int().positive(),
    tileHeight: z.number().int().positive(),
    columns: z.number().int().positive(),
    rows: z.number().int().positive(),
    tiles: z.number().int().positive(),
    intervalSeconds: z.number().positive(),
  }),
  /** When the attempt that made it started: generatedAt − startedAt is the stage's processing time. */
  startedAt: z.iso.datetime({ offset: true }),
  generatedAt: z.iso.datetime({ offset: true }),
});

export type VideoThumbnailsGeneratedV1 = z.infer<typeof videoThumbnailsGeneratedV1>;
export type PosterImageV1 = z.infer<typeof posterImageV1>;
