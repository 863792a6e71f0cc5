export { endStageWhenDeadLettered, runMediaJob, startedAtOf, type MediaJobDeps, type MediaJobWork } from './media-job';
export { StageTracker, stageFailed, type StageTrackerOptions } from './stage-tracker';
export { mediaJobDeps } from './deps';
