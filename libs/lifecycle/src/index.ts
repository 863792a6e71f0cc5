// @video-pipeline/lifecycle: one answer to "is my video ready?".
export { STAGES, TERMINAL_STATUSES, isStageOutcome, isTerminal, stageMayMove, statusFromStages, videoMayMove, type StageName, type StageState, type StageStatus, type Terminal, type VideoStatus } from './status';
export { applyStageOutcome, lockVideo, settleVideo, startStage, type LifecycleOptions, type StageOutcome } from './settle';
