import type { DeadLetterHook, Effects, EventHandler, HandlerContext } from '@video-pipeline/consumer';
import { createEvent, type CloudEvent, type RenditionV1 } from '@video-pipeline/events';
import { isMediaRefusal } from '@video-pipeline/media';
import { endStageWhenDeadLettered, runMediaJob, startedAtOf, type MediaJobDeps, type MediaJobWork } from '@video-pipeline/media-jobs';
import { writeToOutbox } from '@video-pipeline/outbox';

/** Where a video's ladder lives: derived from the video alone, so every attempt and replay writes the same keys. */
export const hlsPrefix = (videoId: string) => `videos/${videoId}/hls/`;

/** The stage this group's work is, and the event that announces its failure. */
const job = { stage: 'transcode', failedEvent: 'video.transcode.failed' } as const;

/** When the runtime parks a `video.uploaded` (its retries ran out), the stage ends as failed and `video.transcode.failed` is announced. */
export const videoUploadedDeadLettered = (deps: MediaJobDeps): DeadLetterHook<'video.uploaded'> => endStageWhenDeadLettered(deps, job);

/**
 * A video was uploaded: the transcoder makes its adaptive HLS ladder under
 * `videos/<id>/hls/` (segments stored while ffmpeg encodes, the master
 * playlist last), then records the renditions, ends the stage and announces
 * `video.transcoded`, all in the transaction that records the event. An
 * upload refused as media ends the stage as failed and announces
 * `video.transcode.failed` instead.
 */
export function handleVideoUploaded(deps: MediaJobDeps): EventHandler<'video.uploaded'> {
  return async (event, context) => {
    context.logger.info({ sizeBytes: event.data.object.sizeBytes }, 'video uploaded');
    return runMediaJob(event, context, deps, { ...job, work: (work) => transcode(event, context, deps, work) });
  };
}

async function transcode(event: CloudEvent<'video.uploaded'>, context: HandlerContext, deps: MediaJobDeps, { source, tracker }: MediaJobWork): Promise<Effects> {
  const { videoId } = event.data;
  const prefix = hlsPrefix(videoId);
  const written = new Set<string>();
  let ladder;
  try {
    ladder = await deps.media.transcode(source, {
      label: `transcode-${videoId}`,
      signal: context.signal,
      onProgress: (percent) => tracker.progress(percent),
      publish: async (file) => {
        const key = prefix + file.name;
        await deps.storage.putFile(key, file.path, file.contentType, context.signal);
        written.add(key);
      },
    });
  } catch (error) {
    // A refused source leaves no half ladder behind; other failures are retried and overwrite theirs.
    if (isMediaRefusal(error)) await deps.storage.deletePrefix(prefix).catch((cleanup: unknown) => context.logger.warn({ err: cleanup, prefix }, 'could not remove a refused ladder'));
    throw error;
  }
  // Anything an earlier attempt left that this ladder does not use.
  await deps.storage.deletePrefix(prefix, written);

  const renditions: RenditionV1[] = ladder.renditions.map((rendition) => ({
    name: rendition.rung.name,
    width: rendition.rung.width,
    height: rendition.rung.height,
    bandwidth: rendition.bandwidth,
    averageBandwidth: rendition.averageBandwidth,
    codecs: rendition.codecs,
    frameRate: rendition.rung.frameRate,
    playlistKey: prefix + rendition.playlistName,
  }));
  const masterPlaylistKey = prefix + ladder.masterName;
  const durationSeconds = Math.round(ladder.durationSeconds * 1000) / 1000;
  const transcoded = createEvent('video.transcoded', {
    source: deps.eventSource,
    subject: videoId,
    data: { schemaVersion: 1, videoId, ownerId: event.data.ownerId, bucket: deps.storage.bucket, masterPlaylistKey, durationSeconds, renditions, startedAt: startedAtOf(tracker), transcodedAt: new Date().toISOString() },
  });
  context.logger.info({ masterPlaylistKey, rungs: renditions.map((rendition) => rendition.name), durationSeconds }, 'video transcoded');
  const stageSucceeded = tracker.succeeded();
  return async (tx) => {
    for (const { name, ...rendition } of renditions) {
      await tx.videoRendition.upsert({ where: { videoId_name: { videoId, name } }, create: { videoId, name, ...rendition }, update: rendition });
    }
    await tx.videoLadder.upsert({ where: { videoId }, create: { videoId, masterPlaylistKey, durationSeconds }, update: { masterPlaylistKey, durationSeconds } });
    await stageSucceeded(tx);
    await writeToOutbox(tx, transcoded, deps.topicPrefix);
  };
}
