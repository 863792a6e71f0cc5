export { endStageWhenDeadLettered, runMediaJob, startedAtOf, videoPrefix, type MediaJobDeps, type MediaJobWork } from './media-job';
export { StageTracker, stageFailed, type StageTrackerOptions } from './stage-tracker';
export { mediaJobDeps } from './deps';
