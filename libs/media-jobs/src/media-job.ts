import type { DeadLetterHook, Effects, HandlerContext } from '@video-pipeline/consumer';
import type { MediaStage, PrismaClient } from '@video-pipeline/db';
import { classifyFailure } from '@video-pipeline/consumer';
import { createEvent, type CloudEvent } from '@video-pipeline/events';
import { HEAD_BYTES, isMediaRefusal, type MediaToolkit, type OpenedSource } from '@video-pipeline/media';
import { lockVideo } from '@video-pipeline/lifecycle';
import { writeToOutbox } from '@video-pipeline/outbox';
import type { ObjectStorage } from '@video-pipeline/storage';
import { StageTracker, stageFailed } from './stage-tracker';

/** What a media group's handler is given once, at start-up. */
export interface MediaJobDeps {
  prisma: PrismaClient;
  storage: ObjectStorage;
  media: MediaToolkit;
  /** Prefixes the topics of the events it publishes (KAFKA_TOPIC_PREFIX). */
  topicPrefix: string;
  /** CloudEvents `source` of the events it publishes, e.g. `/video-pipeline/transcoder`. */
  eventSource: string;
  /** How long ffmpeg may read the upload through its presigned URL: the time limit, with a margin. */
  sourceUrlSeconds: number;
}

export interface MediaJobWork {
  source: OpenedSource;
  tracker: StageTracker;
}

type FailedEventType = 'video.transcode.failed' | 'video.thumbnails.failed';

/**
 * The frame of a media job, the same for the transcoder and the
 * thumbnailer: skip a video that is gone or whose stage already ended (a
 * redelivery or a replay changes nothing), mark the stage running, open the
 * upload safely (its first bytes choose the demuxer, ffmpeg reads it through
 * a presigned URL, its streams are checked against the limits), then `work`.
 *
 * A refusal of the media (a `media_*` code) ends the stage for good: the
 * effects returned record it as failed and publish `failedEvent`, so the
 * video's lifecycle can end, and the event is not retried. Any other
 * failure, an aborted attempt included, is recorded on the stage as
 * waiting for a retry and thrown, so the runtime retries it.
 */
export async function runMediaJob(
  event: CloudEvent<'video.uploaded'>,
  context: HandlerContext,
  deps: MediaJobDeps,
  job: { stage: MediaStage; failedEvent: FailedEventType; work: (work: MediaJobWork) => Promise<Effects> },
): Promise<Effects | void> {
  const { videoId } = event.data;
  const { logger, signal } = context;
  const video = await deps.prisma.video.findUnique({ where: { id: videoId }, select: { id: true } });
  if (!video) {
    logger.warn({ stage: job.stage }, 'the video is gone; nothing to do');
    // What an attempt that raced its deletion may have stored.
    await deps.storage.deletePrefix(videoPrefix(videoId));
    return;
  }
  const tracker = new StageTracker(deps.prisma, videoId, job.stage, logger, { lifecycle: { topicPrefix: deps.topicPrefix, eventSource: deps.eventSource } });
  const stage = await tracker.current();
  if (stage?.status === 'succeeded' || stage?.status === 'failed') {
    logger.info({ stage: job.stage, status: stage.status }, 'the stage already ended; nothing to redo');
    return;
  }
  if (!(await tracker.started())) {
    logger.info({ stage: job.stage }, 'the video is gone or the stage ended meanwhile; nothing to do');
    return;
  }
  try {
    const head = await deps.storage.readHead(event.data.object.key, HEAD_BYTES, signal);
    const url = await deps.storage.presignedGetUrl(event.data.object.key, deps.sourceUrlSeconds);
    const source = await deps.media.open(url, head, signal);
    logger.info({ stage: job.stage, source: source.info }, 'source opened');
    const effects = await job.work({ source, tracker });
    await tracker.flushed();
    return whileTheVideoExists(videoId, effects, deps, logger);
  } catch (error) {
    await tracker.flushed();
    if (isMediaRefusal(error)) {
      logger.warn({ stage: job.stage, code: error.code, reason: error.message }, 'the upload is refused');
      return failedForGood(event, deps, tracker, job.failedEvent, error.code, error.message);
    }
    // Aborted (the attempt's time limit, or shutdown), the event is delivered again too: the abort's reason says why.
    const verdict = classifyFailure(signal.aborted ? (signal.reason ?? error) : error);
    await tracker.retrying(String(verdict.code), verdict.message);
    throw error;
  }
}

/** Where everything of a video is stored: its upload and all that is made from it. */
export const videoPrefix = (videoId: string) => `videos/${videoId}/`;

/**
 * A video deleted while its stage worked: what the work stored goes, and
 * nothing is recorded. The effects also check, with the video's row locked,
 * so a deletion that commits in between leaves no row either; the objects
 * such a last-moment race leaves are removed by the DELETE's second sweep.
 */
async function whileTheVideoExists(videoId: string, effects: Effects, deps: MediaJobDeps, logger: HandlerContext['logger']): Promise<Effects | void> {
  if (!(await deps.prisma.video.findUnique({ where: { id: videoId }, select: { id: true } }))) {
    logger.warn('the video was deleted while its stage worked; removing what it stored');
    await deps.storage.deletePrefix(videoPrefix(videoId));
    return;
  }
  return async (tx) => {
    if (await lockVideo(tx, videoId)) await effects(tx);
  };
}

/** Effects that end the stage as failed and announce it. */
function failedForGood(event: CloudEvent<'video.uploaded'>, deps: MediaJobDeps, tracker: StageTracker, type: FailedEventType, code: string, message: string): Effects {
  const failed = failureEvent(event, deps, type, { code, message }, tracker.startedAt);
  const recordFailure = tracker.failed(code, message);
  return async (tx) => {
    if (!(await lockVideo(tx, event.data.videoId))) return;
    await writeToOutbox(tx, failed, deps.topicPrefix);
    await recordFailure(tx);
  };
}

/**
 * The `deadLettered` hook of a media group's `video.uploaded` handler: when
 * the runtime parks the event (a failure that may not repeat kept
 * repeating until the retry tiers ran out), the stage ends as failed with
 * the last failure's reason and `failedEvent` is announced, as for a refused
 * upload, so the video's lifecycle can end instead of showing the stage
 * pending for ever. A stage that already ended, or a video that is gone, is
 * left alone: parking the event again (a replay that fails again) changes
 * nothing.
 */
export function endStageWhenDeadLettered(deps: MediaJobDeps, job: { stage: MediaStage; failedEvent: FailedEventType }): DeadLetterHook<'video.uploaded'> {
  return (event, reason) => async (tx) => {
    const { videoId } = event.data;
    if (!(await lockVideo(tx, videoId))) return;
    const current = await tx.videoStage.findUnique({ where: { videoId_stage: { videoId, stage: job.stage } } });
    if (current?.status === 'succeeded' || current?.status === 'failed') return;
    // The stage's failure goes out before the lifecycle's `video.failed` that recording it may write.
    await writeToOutbox(tx, failureEvent(event, deps, job.failedEvent, reason, current?.startedAt ?? undefined), deps.topicPrefix);
    await stageFailed(videoId, job.stage, reason.code, reason.message, { topicPrefix: deps.topicPrefix, eventSource: deps.eventSource })(tx);
  };
}

function failureEvent(event: CloudEvent<'video.uploaded'>, deps: MediaJobDeps, type: FailedEventType, reason: { code: string; message: string }, startedAt: Date | undefined) {
  const { videoId } = event.data;
  const data = { schemaVersion: 1 as const, videoId, ownerId: event.data.ownerId, reason, startedAt: startedAt?.toISOString(), failedAt: new Date().toISOString() };
  const fields = { source: deps.eventSource, subject: videoId };
  return type === 'video.transcode.failed'
    ? createEvent(type, { ...fields, data: { ...data, stage: 'transcode' } })
    : createEvent(type, { ...fields, data: { ...data, stage: 'thumbnails' } });
}

/** When the stage's current attempt started, for the event that ends it (`started()` ran before any work). */
export function startedAtOf(tracker: StageTracker): string {
  return (tracker.startedAt ?? new Date()).toISOString();
}
