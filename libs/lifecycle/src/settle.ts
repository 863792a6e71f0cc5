import type { Prisma } from '@video-pipeline/db';
import { createEvent, type CloudEvent, type ModerationReasonV1 } from '@video-pipeline/events';
import { writeToOutbox } from '@video-pipeline/outbox';
import { stageMayMove, statusFromStages, videoMayMove, type StageName, type StageState, type StageStatus, type Terminal, type VideoStatus } from './status';

type Tx = Prisma.TransactionClient;

/** Where the lifecycle's events go and what they say they come from. */
export interface LifecycleOptions {
  /** Prefixes the topics (KAFKA_TOPIC_PREFIX). */
  topicPrefix: string;
  /** CloudEvents `source`, e.g. `/video-pipeline/transcoder`. */
  eventSource: string;
  now?: () => Date;
}

/** A stage's new state, as its group (or a reviewer) records it. */
export interface StageOutcome {
  status: StageStatus;
  progress?: number;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/**
 * Locks the video's row to the end of the transaction, so that two stages
 * ending at once take turns and the second sees the first's outcome. False
 * when the video is gone (deleted): then nothing of it may be written.
 */
export async function lockVideo(tx: Tx, videoId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM videos WHERE id = ${videoId}::uuid FOR UPDATE`;
  return rows.length > 0;
}

/**
 * Records a stage's outcome and settles the video, in the caller's
 * transaction (the one that records the event as handled): locks the video,
 * writes the stage only if it may move there (an ended stage keeps its
 * outcome, so a duplicate or late event changes nothing), then moves the
 * video forward if its stages say so. Returns `gone` when the video was deleted.
 */
export async function applyStageOutcome(tx: Tx, videoId: string, stage: StageName, outcome: StageOutcome, options: LifecycleOptions): Promise<'gone' | 'unchanged' | 'recorded'> {
  if (!(await lockVideo(tx, videoId))) return 'gone';
  const now = (options.now ?? (() => new Date()))();
  const current = await tx.videoStage.findUnique({ where: { videoId_stage: { videoId, stage } } });
  if (!stageMayMove(current?.status, outcome.status)) return 'unchanged';
  const ended = outcome.status !== 'pending' && outcome.status !== 'running';
  const data = {
    status: outcome.status,
    ...(outcome.progress !== undefined && { progress: outcome.progress }),
    errorCode: outcome.errorCode ?? null,
    errorMessage: outcome.errorMessage ?? null,
    ...(ended && { finishedAt: now }),
  };
  if (current) await tx.videoStage.update({ where: { videoId_stage: { videoId, stage } }, data });
  else await tx.videoStage.create({ data: { videoId, stage, attempts: 1, startedAt: now, ...data } });
  await settleVideo(tx, videoId, options);
  return 'recorded';
}

/**
 * Moves the video to the status its stages make, if that is forward, and on
 * a move to a terminal status writes its one event (`video.ready`,
 * `video.rejected` or `video.failed`) to the outbox. The UPDATE is
 * conditional on the status read, so of two transactions only one moves it
 * and writes the event. Call it with the video locked (`lockVideo`).
 */
export async function settleVideo(tx: Tx, videoId: string, options: LifecycleOptions): Promise<VideoStatus | null> {
  const video = await tx.video.findUnique({ where: { id: videoId }, include: { stages: true, ladder: true, renditions: true, moderation: true } });
  if (!video) return null;
  const stages: Partial<Record<StageName, StageState>> = Object.fromEntries(video.stages.map((row) => [row.stage, row]));
  const next = statusFromStages(stages);
  if (!videoMayMove(video.status, next.status)) return video.status;
  const { count } = await tx.video.updateMany({ where: { id: videoId, status: video.status }, data: { status: next.status } });
  if (count === 0 || !next.terminal) return next.status;
  const now = (options.now ?? (() => new Date()))();
  await writeToOutbox(tx, terminalEvent(video, next.terminal, now, options.eventSource), options.topicPrefix);
  return next.status;
}

type SettledVideo = NonNullable<Awaited<ReturnType<typeof loadForEvent>>>;
const loadForEvent = (tx: Tx, id: string) => tx.video.findUnique({ where: { id }, include: { ladder: true, renditions: true, moderation: true } });

function terminalEvent(video: SettledVideo, terminal: Terminal, now: Date, source: string): CloudEvent {
  const base = { videoId: video.id, ownerId: video.ownerId, uploadedAt: video.createdAt.toISOString() };
  const fields = { source, subject: video.id, time: now };
  switch (terminal.status) {
    case 'ready':
      return createEvent('video.ready', {
        ...fields,
        data: {
          schemaVersion: 1,
          ...base,
          title: video.title,
          durationSeconds: video.ladder?.durationSeconds ?? 0,
          masterPlaylistKey: video.ladder?.masterPlaylistKey ?? '',
          renditions: [...video.renditions].sort((a, b) => Math.min(b.width, b.height) - Math.min(a.width, a.height)).map(({ name, width, height }) => ({ name, width, height })),
          readyAt: now.toISOString(),
        },
      });
    case 'rejected':
      return createEvent('video.rejected', {
        ...fields,
        data: {
          schemaVersion: 1,
          ...base,
          decidedBy: video.moderation?.decidedBy ?? 'policy',
          reasons: (video.moderation?.reasons ?? []) as ModerationReasonV1[],
          rejectedAt: now.toISOString(),
        },
      });
    case 'failed':
      return createEvent('video.failed', { ...fields, data: { schemaVersion: 1, ...base, stage: terminal.stage, reason: terminal.reason, failedAt: now.toISOString() } });
  }
}

/**
 * A stage's attempt starts: the stage runs (unless it already ended) and
 * the video is `processing` (unless it is further). Written at once, outside
 * the event's transaction, so the API shows it while the work runs; false
 * when the video is gone or the stage already ended.
 */
export async function startStage(db: { $transaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T> }, videoId: string, stage: StageName, startedAt: Date, options: LifecycleOptions): Promise<boolean> {
  return db.$transaction(async (tx) => {
    if (!(await lockVideo(tx, videoId))) return false;
    const current = await tx.videoStage.findUnique({ where: { videoId_stage: { videoId, stage } } });
    if (!stageMayMove(current?.status, 'running')) return false;
    const running = { status: 'running', progress: 0, startedAt, finishedAt: null, errorCode: null, errorMessage: null } as const;
    if (current) await tx.videoStage.update({ where: { videoId_stage: { videoId, stage } }, data: { ...running, attempts: { increment: 1 } } });
    else await tx.videoStage.create({ data: { videoId, stage, attempts: 1, ...running } });
    await settleVideo(tx, videoId, options);
    return true;
  });
}
