import { isDatabaseUnavailable, type PrismaClient } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { createEvent, type ModerationReasonV1 } from '@video-pipeline/events';
import { applyStageOutcome, isTerminal, lockVideo, TERMINAL_STATUSES } from '@video-pipeline/lifecycle';
import type { TextBlocklist } from '@video-pipeline/moderation-rules';
import { writeToOutbox } from '@video-pipeline/outbox';
import type { ObjectStorage } from '@video-pipeline/storage';

export interface LifecycleStoreOptions {
  eventSource: string;
  topicPrefix: string;
  now?: () => Date;
}

/** A reviewer's decision, as recorded. */
export interface ReviewRecord {
  videoId: string;
  decision: 'approved' | 'rejected';
  reviewer: string;
  note: string | null;
  decidedAt: Date;
}

/** The API's lifecycle writes: deletion, edits and reviews, each with its event in the transaction that makes the change. */
export class LifecycleStore {
  private readonly now: () => Date;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly storage: ObjectStorage,
    private readonly options: LifecycleStoreOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Deletes the owner's video: every object under `videos/<id>/` (its
   * upload, ladder, pictures), then, with its row locked, its rows and a
   * `video.deleted` event, then once more what work still running stored
   * meanwhile. Work that finishes later finds the video gone and stores
   * nothing (see runMediaJob). False when there is no such video (a second
   * delete). Objects go first: a failure in between leaves a video whose
   * delete can be repeated, never rows-less objects no one can reach.
   */
  async delete(ownerId: string, videoId: string): Promise<boolean> {
    const video = await this.prisma.video.findFirst({ where: { id: videoId, ownerId }, select: { id: true } }).catch(asOutage);
    if (!video) return false;
    const prefix = `videos/${videoId}/`;
    await this.deleteObjects(prefix);
    const now = this.now();
    const deleted = createEvent('video.deleted', { source: this.options.eventSource, subject: videoId, time: now, data: { schemaVersion: 1, videoId, ownerId, deletedAt: now.toISOString() } });
    const gone = await this.prisma
      .$transaction(async (tx) => {
        if (!(await lockVideo(tx, videoId))) return false;
        await tx.videoChange.deleteMany({ where: { videoId } });
        await tx.moderationReview.deleteMany({ where: { videoId } });
        await tx.videoReceipt.deleteMany({ where: { videoId } });
        // Stages, renditions, ladder, pictures and moderation go with it (ON DELETE CASCADE).
        await tx.video.delete({ where: { id: videoId } });
        await writeToOutbox(tx, deleted, this.options.topicPrefix);
        return true;
      })
      .catch(asOutage);
    if (gone) await this.deleteObjects(prefix);
    return gone;
  }

  /** Edits the owner's video's title and description, refused with `blocked_text` when moderation's blocklist finds words in them. */
  async editText(ownerId: string, videoId: string, edit: { title?: string | null; description?: string | null }, blocklist: TextBlocklist): Promise<boolean> {
    const verdict = blocklist.check(edit);
    if (verdict.verdict === 'reject') throw new PipelineError('blocked_text', verdict.message, { details: { reasons: [verdict] } });
    const { count } = await this.prisma.video.updateMany({ where: { id: videoId, ownerId }, data: edit }).catch(asOutage);
    return count > 0;
  }

  /**
   * Videos waiting for a reviewer, longest waiting first. A video whose
   * lifecycle ended meanwhile (a media stage failed for good) waits for
   * nothing: a decision could not change it, so it leaves the queue.
   */
  async pendingReviews(limit: number) {
    const stages = await this.prisma.videoStage
      .findMany({ where: { stage: 'moderation', status: 'needs_review', video: { status: { notIn: [...TERMINAL_STATUSES] } } }, orderBy: { updatedAt: 'asc' }, take: limit, include: { video: { include: { moderation: true, thumbnails: true } } } })
      .catch(asOutage);
    return stages.map(({ video, updatedAt }) => ({
      videoId: video.id,
      ownerId: video.ownerId,
      title: video.title,
      description: video.description,
      status: video.status,
      reasons: (video.moderation?.reasons ?? []) as ModerationReasonV1[],
      waitingSince: updatedAt,
      thumbnails: video.thumbnails,
    }));
  }

  /**
   * A reviewer approves or rejects a video waiting for review: the review
   * is recorded (who, when, the note), the decision replaces the policy's
   * and is announced as `video.moderated`, and the lifecycle settles, all
   * in one transaction. `not_found` for no such video, `review_not_pending`
   * when it is not waiting for a review (decided already, not yet screened,
   * or failed meanwhile).
   */
  async decideReview(reviewer: string, videoId: string, decision: 'approved' | 'rejected', note: string | null): Promise<ReviewRecord & { status: string }> {
    const decidedAt = this.now();
    return this.prisma
      .$transaction(async (tx) => {
        if (!(await lockVideo(tx, videoId))) throw new PipelineError('not_found', `no video ${videoId}`);
        const video = await tx.video.findUniqueOrThrow({ where: { id: videoId }, include: { moderation: true, stages: { where: { stage: 'moderation' } } } });
        if (video.stages[0]?.status !== 'needs_review') {
          throw new PipelineError('review_not_pending', `video ${videoId} is not waiting for a review`, { details: { moderation: video.stages[0]?.status ?? 'pending' } });
        }
        if (isTerminal(video.status)) {
          throw new PipelineError('review_not_pending', `video ${videoId} is not waiting for a review: it is ${video.status}`, { details: { moderation: 'needs_review', status: video.status } });
        }
        const reasons: ModerationReasonV1[] = [
          ...((video.moderation?.reasons ?? []) as ModerationReasonV1[]),
          { check: 'review', verdict: decision === 'approved' ? 'pass' : 'reject', code: `reviewer_${decision}`, message: note ?? '' },
        ];
        await tx.moderationReview.create({ data: { videoId, reviewer, decision, note, decidedAt } });
        const record = { decision, decidedBy: 'reviewer', reviewer, note, reasons, decidedAt } as const;
        await tx.videoModeration.upsert({ where: { videoId }, create: { videoId, ...record }, update: record });
        const moderated = createEvent('video.moderated', {
          source: this.options.eventSource,
          subject: videoId,
          time: decidedAt,
          data: { schemaVersion: 1, videoId, ownerId: video.ownerId, decision, reasons, decidedBy: 'reviewer', reviewer, note, moderatedAt: decidedAt.toISOString() },
        });
        await writeToOutbox(tx, moderated, this.options.topicPrefix);
        await applyStageOutcome(tx, videoId, 'moderation', { status: decision, progress: 100 }, { ...this.options, now: () => decidedAt });
        const { status } = await tx.video.findUniqueOrThrow({ where: { id: videoId }, select: { status: true } });
        return { videoId, decision, reviewer, note, decidedAt, status };
      })
      .catch(asOutage);
  }

  private async deleteObjects(prefix: string): Promise<void> {
    await this.storage.deletePrefix(prefix).catch((error: unknown) => {
      throw new PipelineError('storage_unavailable', 'the storage did not answer; nothing was deleted for good, try again', { cause: error });
    });
  }
}

function asOutage(error: unknown): never {
  if (isDatabaseUnavailable(error)) throw new PipelineError('database_unavailable', 'the database is unavailable; try again shortly', { cause: error });
  throw error;
}
