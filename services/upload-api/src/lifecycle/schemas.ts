import { z } from 'zod';
import { MAX_TITLE_LENGTH } from '../schemas';

/** The lifecycle routes' contract: edits, reviews. */

export const MAX_DESCRIPTION_LENGTH = 5_000;
export const MAX_NOTE_LENGTH = 2_000;

const optionalText = (max: number, what: string) =>
  z
    .string()
    .trim()
    .max(max, { error: `${what} is longer than ${max} characters` })
    .transform((text) => (text === '' ? null : text))
    .nullable()
    .optional();

export const videoEditSchema = z
  .strictObject({
    title: optionalText(MAX_TITLE_LENGTH, 'title').meta({ description: `at most ${MAX_TITLE_LENGTH} characters; null or "" removes it` }),
    description: optionalText(MAX_DESCRIPTION_LENGTH, 'description').meta({ description: `at most ${MAX_DESCRIPTION_LENGTH} characters; null or "" removes it` }),
  })
  .refine((edit) => edit.title !== undefined || edit.description !== undefined, { error: 'send a title, a description or both' })
  .meta({ id: 'VideoEdit' });

const reasonSchema = z.object({ check: z.string(), verdict: z.enum(['pass', 'reject', 'review']), code: z.string(), message: z.string() }).meta({ id: 'ModerationReason' });

export const reviewQueueSchema = z
  .object({
    items: z.array(
      z.object({
        videoId: z.uuid(),
        ownerId: z.string(),
        title: z.string().nullable(),
        description: z.string().nullable(),
        status: z.string(),
        reasons: z.array(reasonSchema).meta({ description: 'why the policy asks for a person' }),
        waitingSince: z.iso.datetime(),
        pictures: z
          .object({
            posters: z.array(z.object({ width: z.number().int(), height: z.number().int(), format: z.string(), url: z.url() })).meta({ description: 'the poster in each stored size and format, largest first' }),
            storyboard: z
              .object({ spriteUrl: z.url(), vttUrl: z.url() })
              .nullable()
              .meta({ description: 'the storyboard sprite and the WebVTT cues that point into it' }),
          })
          .nullable()
          .meta({ description: "signed, expiring playback URLs (made with the owner's scope) of the video's poster and storyboard; null until its thumbnails exist" }),
      }),
    ),
  })
  .meta({ id: 'ReviewQueue' });

export const reviewQueueQuery = z.object({ limit: z.coerce.number({ error: 'limit must be an integer from 1 to 100' }).int().min(1).max(100).default(50) });

export const reviewDecisionSchema = z
  .strictObject({
    decision: z.enum(['approved', 'rejected']),
    note: z.string().trim().max(MAX_NOTE_LENGTH, { error: `note is longer than ${MAX_NOTE_LENGTH} characters` }).nullable().optional(),
  })
  .meta({ id: 'ReviewDecision' });

export const reviewSchema = z
  .object({
    videoId: z.uuid(),
    decision: z.enum(['approved', 'rejected']),
    reviewer: z.string(),
    note: z.string().nullable(),
    decidedAt: z.iso.datetime(),
    status: z.string().meta({ description: 'the video\'s status after the decision: ready, rejected, or processing while its media stages work' }),
  })
  .meta({ id: 'Review' });
