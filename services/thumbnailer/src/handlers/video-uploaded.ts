import path from 'node:path';
import type { DeadLetterHook, Effects, EventHandler, HandlerContext } from '@video-pipeline/consumer';
import { createEvent, type CloudEvent, type PosterImageV1 } from '@video-pipeline/events';
import { endStageWhenDeadLettered, runMediaJob, startedAtOf, type MediaJobDeps, type MediaJobWork } from '@video-pipeline/media-jobs';
import { writeToOutbox } from '@video-pipeline/outbox';

/** Where a video's pictures live: derived from the video alone, so every attempt and replay writes the same keys. */
export const thumbnailsPrefix = (videoId: string) => `videos/${videoId}/thumbnails/`;

const imageTypes = { webp: 'image/webp', jpeg: 'image/jpeg' } as const;

/** The stage this group's work is, and the event that announces its failure. */
const job = { stage: 'thumbnails', failedEvent: 'video.thumbnails.failed' } as const;

/** When the runtime parks a `video.uploaded` (its retries ran out), the stage ends as failed and `video.thumbnails.failed` is announced. */
export const videoUploadedDeadLettered = (deps: MediaJobDeps): DeadLetterHook<'video.uploaded'> => endStageWhenDeadLettered(deps, job);

/**
 * A video was uploaded: the thumbnailer stores its poster (several sizes,
 * WebP and JPEG) and storyboard (a sprite and its WebVTT) under
 * `videos/<id>/thumbnails/`, then records them with the placeholder, ends
 * the stage and announces `video.thumbnails.generated`, in the transaction
 * that records the event. An upload refused as media ends the stage as
 * failed and announces `video.thumbnails.failed` instead.
 */
export function handleVideoUploaded(deps: MediaJobDeps): EventHandler<'video.uploaded'> {
  return async (event, context) => {
    context.logger.info({ sizeBytes: event.data.object.sizeBytes }, 'video uploaded');
    return runMediaJob(event, context, deps, { ...job, work: (work) => thumbnails(event, context, deps, work) });
  };
}

function thumbnails(event: CloudEvent<'video.uploaded'>, context: HandlerContext, deps: MediaJobDeps, { source, tracker }: MediaJobWork): Promise<Effects> {
  const { videoId } = event.data;
  const prefix = thumbnailsPrefix(videoId);
  const store = (file: string, name: string, contentType: string) => deps.storage.putFile(prefix + name, file, contentType, context.signal).then(() => prefix + name);

  return deps.media.thumbnails(source, { label: `thumbnails-${videoId}`, signal: context.signal, onProgress: (percent) => tracker.progress(percent) }, async (set) => {
    const posters: PosterImageV1[] = [];
    for (const poster of set.posters) {
      posters.push({ width: poster.width, height: poster.height, format: poster.format, key: await store(poster.path, path.basename(poster.path), imageTypes[poster.format]) });
    }
    // The VTT names the sprite by its file name: they are stored side by side.
    const spriteKey = await store(set.sprite.path, 'storyboard.jpg', 'image/jpeg');
    const vttKey = await store(set.vtt.path, 'storyboard.vtt', 'text/vtt');
    const { tileWidth, tileHeight, columns, rows, tiles, intervalSeconds } = set.layout;
    const storyboard = { spriteKey, vttKey, tileWidth, tileHeight, columns, rows, tiles, intervalSeconds: Math.round(intervalSeconds * 1000) / 1000 };

    const generated = createEvent('video.thumbnails.generated', {
      source: deps.eventSource,
      subject: videoId,
      data: { schemaVersion: 1, videoId, ownerId: event.data.ownerId, bucket: deps.storage.bucket, posters, placeholder: set.placeholder, posterTimeSeconds: set.posterTimeSeconds, storyboard, startedAt: startedAtOf(tracker), generatedAt: new Date().toISOString() },
    });
    context.logger.info({ posterTimeSeconds: set.posterTimeSeconds, candidates: set.candidates, tiles }, 'thumbnails generated');
    const stageSucceeded = tracker.succeeded();
    const row = { posters, placeholder: set.placeholder, posterTimeSeconds: set.posterTimeSeconds, storyboard };
    return async (tx) => {
      await tx.videoThumbnails.upsert({ where: { videoId }, create: { videoId, ...row }, update: row });
      await stageSucceeded(tx);
      await writeToOutbox(tx, generated, deps.topicPrefix);
    };
  });
}
