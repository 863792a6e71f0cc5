import type { Effects } from '@video-pipeline/consumer';
import type { MediaStage, PrismaClient, VideoStage } from '@video-pipeline/db';
import { applyStageOutcome, startStage, type LifecycleOptions } from '@video-pipeline/lifecycle';
import type { Logger } from '@video-pipeline/logging';

export interface StageTrackerOptions {
  /** Where the video's lifecycle events go when this stage's outcome ends it. */
  lifecycle: Omit<LifecycleOptions, 'now'>;
  /** Progress is written at most this often. Default 2 s. */
  progressEveryMs?: number;
  now?: () => Date;
}

/**
 * One video's stage (`video_stages`), as one group works on it. Start and
 * progress are written directly, as they happen, so the API shows a running
 * stage; the outcome is written by effects, in the transaction that records
 * the event, so it is there exactly when the event counts as handled.
 */
export class StageTracker {
  private readonly progressEveryMs: number;
  private readonly now: () => Date;
  private lastProgress = 0;
  private lastWrittenAt = 0;
  private writing: Promise<void> = Promise.resolve();
  /** When this attempt started (set by `started()`): the stage's events carry it, so analytics can time the stage. */
  startedAt?: Date;

  constructor(
    private readonly prisma: PrismaClient,
    readonly videoId: string,
    readonly stage: MediaStage,
    private readonly logger: Logger,
    private readonly options: StageTrackerOptions,
  ) {
    this.progressEveryMs = options.progressEveryMs ?? 2_000;
    this.now = options.now ?? (() => new Date());
  }

  private get key() {
    return { videoId_stage: { videoId: this.videoId, stage: this.stage } };
  }

  current(): Promise<VideoStage | null> {
    return this.prisma.videoStage.findUnique({ where: this.key });
  }

  private get lifecycle(): LifecycleOptions {
    return { ...this.options.lifecycle, now: this.now };
  }

  /**
   * Another attempt starts: running, at 0%, its last error cleared, and the
   * video `processing`. False, with nothing written, when the video is gone
   * or the stage already ended.
   */
  async started(): Promise<boolean> {
    const now = this.now();
    this.startedAt = now;
    const started = await startStage(this.prisma, this.videoId, this.stage, now, this.lifecycle);
    this.lastProgress = 0;
    this.lastWrittenAt = Date.now();
    return started;
  }

  /** Records progress (0–100) if it grew and the last write is old enough; never waits, never fails the work. */
  progress(percent: number): void {
    const rounded = Math.max(0, Math.min(100, Math.floor(percent)));
    if (rounded <= this.lastProgress || Date.now() - this.lastWrittenAt < this.progressEveryMs) return;
    this.lastProgress = rounded;
    this.lastWrittenAt = Date.now();
    this.writing = this.writing
      .then(() => this.prisma.videoStage.updateMany({ where: { videoId: this.videoId, stage: this.stage, status: 'running' }, data: { progress: rounded } }))
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn({ err: error, progress: rounded }, 'could not record progress'),
      );
  }

  /** Waits for a progress write in flight, so none lands after the outcome. */
  flushed(): Promise<void> {
    return this.writing;
  }

  /** An attempt failed in a way that may not repeat: it waits for a retry (written now; the event is not handled). */
  async retrying(code: string, message: string): Promise<void> {
    await this.flushed();
    await this.prisma.videoStage
      .updateMany({ where: { videoId: this.videoId, stage: this.stage, status: 'running' }, data: { status: 'pending', errorCode: code, errorMessage: truncate(message) } })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not record the failed attempt'));
  }

  /** Effects that end the stage as succeeded and settle the video's lifecycle (see applyStageOutcome). */
  succeeded(): Effects {
    return async (tx) => {
      await applyStageOutcome(tx, this.videoId, this.stage, { status: 'succeeded', progress: 100 }, this.lifecycle);
    };
  }

  /** Effects that end the stage as failed for good, with why, and settle the video's lifecycle. */
  failed(code: string, message: string): Effects {
    return stageFailed(this.videoId, this.stage, code, message, this.lifecycle);
  }
}

/** Effects that end a video's stage as failed with its reason (creating the row if the stage never started) and settle its lifecycle. */
export function stageFailed(videoId: string, stage: MediaStage, code: string, message: string, lifecycle: LifecycleOptions): Effects {
  return async (tx) => {
    await applyStageOutcome(tx, videoId, stage, { status: 'failed', errorCode: code, errorMessage: truncate(message) }, lifecycle);
  };
}

/** Enough of a message to understand it (ffmpeg's stderr tail included), bounded for the row and the API. */
const truncate = (text: string, max = 4_000) => (text.length > max ? `${text.slice(0, max)}…` : text);
