import type { EventHandler, HandlerContext } from '@video-pipeline/consumer';
import { classifyFailure } from '@video-pipeline/consumer';
import type { Prisma } from '@video-pipeline/db';
import { createEvent, type CloudEvent, type ModerationReasonV1 } from '@video-pipeline/events';
import { applyStageOutcome, isStageOutcome, lockVideo, stageMayMove, startStage, type LifecycleOptions } from '@video-pipeline/lifecycle';
import { HEAD_BYTES, isMediaRefusal, type OpenedSource } from '@video-pipeline/media';
import { askClassifier, checkMediaPolicy, dHash, decide, nearestKnownBad, type Decision } from '@video-pipeline/moderation-rules';
import { writeToOutbox } from '@video-pipeline/outbox';
import type { ModerationDeps } from '../moderation-deps';

/**
 * A video was uploaded: moderation screens it before anyone can watch it.
 * Its title and description against the blocklist, the source against the
 * media policy, frames spread over it against the known-bad pictures (dHash
 * within a Hamming distance), and the external classifier when there is
 * one. Any rejecting check rejects; a check that cannot decide (the
 * classifier down or slow, a source that cannot be read) sends it to a
 * reviewer. The decision, with every reason, ends the moderation stage and
 * is announced as `video.moderated`, in the transaction that records the
 * event; a failure that may not repeat (storage down) is retried.
 */
export function handleVideoUploaded(deps: ModerationDeps): EventHandler<'video.uploaded'> {
  return async (event, context) => {
    const { videoId } = event.data;
    const { logger } = context;
    const lifecycle: LifecycleOptions = { topicPrefix: deps.topicPrefix, eventSource: deps.eventSource, now: deps.now };
    const video = await deps.prisma.video.findUnique({ where: { id: videoId }, include: { stages: { where: { stage: 'moderation' } } } });
    if (!video) {
      logger.warn('the video is gone; nothing to moderate');
      return;
    }
    if (video.stages[0] && isStageOutcome(video.stages[0].status)) {
      logger.info({ status: video.stages[0].status }, 'moderation already decided; nothing to redo');
      return;
    }
    if (!(await startStage(deps.prisma, videoId, 'moderation', deps.now(), lifecycle))) return;
    let reasons: ModerationReasonV1[];
    try {
      reasons = await screen(event, { title: video.title, description: video.description }, context, deps);
    } catch (error) {
      const verdict = classifyFailure(context.signal.aborted ? (context.signal.reason ?? error) : error);
      await deps.prisma.videoStage
        .updateMany({ where: { videoId, stage: 'moderation', status: 'running' }, data: { status: 'pending', errorCode: String(verdict.code), errorMessage: verdict.message.slice(0, 4_000) } })
        .catch((cleanup: unknown) => logger.warn({ err: cleanup }, 'could not record the failed attempt'));
      throw error;
    }
    const decision = decide(reasons);
    logger.info({ decision, reasons: reasons.filter((reason) => reason.verdict !== 'pass') }, 'video moderated');
    return decided(event, decision, reasons, deps, lifecycle);
  };
}

async function screen(event: CloudEvent<'video.uploaded'>, text: { title: string | null; description: string | null }, context: HandlerContext, deps: ModerationDeps): Promise<ModerationReasonV1[]> {
  const { videoId } = event.data;
  const reasons: ModerationReasonV1[] = [deps.blocklist.check(text)];
  let source: OpenedSource;
  try {
    const head = await deps.storage.readHead(event.data.object.key, HEAD_BYTES, context.signal);
    source = await deps.media.open(await deps.storage.presignedGetUrl(event.data.object.key, deps.sourceUrlSeconds), head, context.signal);
  } catch (error) {
    if (!isMediaRefusal(error)) throw error;
    // The media stages refuse it too and the video fails; moderation does not judge what it cannot see.
    return [...reasons, { check: 'media_policy', verdict: 'review', code: error.code, message: error.message }];
  }
  reasons.push(...checkMediaPolicy(source.info, deps.policy));
  const frameHashes = await deps.media.frameSamples(source, { label: `moderation-${videoId}`, count: deps.knownBadFrames.samples, width: 160, signal: context.signal }, (frames) =>
    Promise.all(frames.map(async (frame) => ({ timeSeconds: frame.timeSeconds, hash: await dHash(frame.path) }))),
  );
  const matches = frameHashes.flatMap((frame) => {
    const bad = nearestKnownBad(frame.hash, deps.knownBadFrames.hashes, deps.knownBadFrames.maxDistance);
    return bad ? [`the frame at about ${frame.timeSeconds.toFixed(1)} s is ${bad.distance} bits from ${bad.hash}`] : [];
  });
  reasons.push(
    matches.length > 0
      ? { check: 'frame_hash', verdict: 'reject', code: 'known_bad_frame', message: `frames like known-bad pictures: ${matches.join('; ')}` }
      : { check: 'frame_hash', verdict: 'pass', code: 'frames_ok', message: `${frameHashes.length} frames, none within ${deps.knownBadFrames.maxDistance} bits of a known-bad picture` },
  );
  if (deps.classifier) {
    reasons.push(await askClassifier({ videoId, title: text.title, description: text.description, frameHashes: frameHashes.map((frame) => frame.hash) }, deps.classifier, context.signal));
  }
  return reasons;
}

/** Effects: the decision recorded and announced, and the stage ended, unless the video is gone or moderation decided meanwhile. */
function decided(event: CloudEvent<'video.uploaded'>, decision: Decision, reasons: ModerationReasonV1[], deps: ModerationDeps, lifecycle: LifecycleOptions) {
  const { videoId, ownerId } = event.data;
  const now = deps.now();
  const moderated = createEvent('video.moderated', {
    source: deps.eventSource,
    subject: videoId,
    time: now,
    data: { schemaVersion: 1, videoId, ownerId, decision, reasons, decidedBy: 'policy', reviewer: null, note: null, moderatedAt: now.toISOString() },
  });
  return async (tx: Prisma.TransactionClient) => {
    if (!(await lockVideo(tx, videoId))) return;
    const stage = await tx.videoStage.findUnique({ where: { videoId_stage: { videoId, stage: 'moderation' } } });
    if (!stageMayMove(stage?.status, decision)) return;
    const record = { decision, decidedBy: 'policy', reviewer: null, note: null, reasons, decidedAt: now } as const;
    await tx.videoModeration.upsert({ where: { videoId }, create: { videoId, ...record }, update: record });
    await writeToOutbox(tx, moderated, deps.topicPrefix);
    await applyStageOutcome(tx, videoId, 'moderation', { status: decision, progress: 100 }, lifecycle);
  };
}
