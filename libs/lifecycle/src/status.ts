/**
 * The lifecycle as pure logic: which status a video has, given where its
 * stages stand. A video moves `uploaded` → `processing` → `ready` |
 * `rejected` | `failed`; it never goes back, and the last three are final.
 */

export type VideoStatus = 'uploaded' | 'processing' | 'ready' | 'rejected' | 'failed';
export type StageName = 'transcode' | 'thumbnails' | 'moderation';
export type StageStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'approved' | 'rejected' | 'needs_review';

export const STAGES: readonly StageName[] = ['transcode', 'thumbnails', 'moderation'];
export const TERMINAL_STATUSES: readonly VideoStatus[] = ['ready', 'rejected', 'failed'];

export interface StageState {
  status: StageStatus;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/** Where a video's lifecycle ends, with what it ends on. */
export type Terminal =
  | { status: 'ready' }
  | { status: 'rejected' }
  | { status: 'failed'; stage: StageName; reason: { code: string; message: string } };

export const isTerminal = (status: VideoStatus): boolean => TERMINAL_STATUSES.includes(status);

/** Whether a stage status is an outcome: the stage's work is over (a review may still decide `needs_review`). */
export const isStageOutcome = (status: StageStatus): boolean => status !== 'pending' && status !== 'running';

/** An ended stage keeps its outcome; only moderation's `needs_review` may still become `approved` or `rejected` (a reviewer). */
export function stageMayMove(from: StageStatus | undefined, to: StageStatus): boolean {
  if (from === undefined) return true;
  if (from === 'needs_review') return to === 'approved' || to === 'rejected';
  return !isStageOutcome(from);
}

const rank: Record<VideoStatus, number> = { uploaded: 0, processing: 1, ready: 2, rejected: 2, failed: 2 };

/** A status change that goes forward: never back, never out of a terminal status. */
export function videoMayMove(from: VideoStatus, to: VideoStatus): boolean {
  return !isTerminal(from) && rank[to] > rank[from];
}

/**
 * The status the stages make: `rejected` once moderation rejects; `failed`
 * once a stage failed for good (the first in stage order, with its reason);
 * `ready` when the transcode and the thumbnails succeeded and moderation
 * approved; `processing` once any stage started; `uploaded` before.
 */
export function statusFromStages(stages: Partial<Record<StageName, StageState>>): { status: VideoStatus; terminal?: Terminal } {
  if (stages.moderation?.status === 'rejected') return { status: 'rejected', terminal: { status: 'rejected' } };
  for (const stage of STAGES) {
    const state = stages[stage];
    if (state?.status === 'failed') {
      const reason = { code: state.errorCode ?? 'internal', message: state.errorMessage ?? '' };
      return { status: 'failed', terminal: { status: 'failed', stage, reason } };
    }
  }
  if (stages.transcode?.status === 'succeeded' && stages.thumbnails?.status === 'succeeded' && stages.moderation?.status === 'approved') {
    return { status: 'ready', terminal: { status: 'ready' } };
  }
  return { status: Object.keys(stages).length > 0 ? 'processing' : 'uploaded' };
}
