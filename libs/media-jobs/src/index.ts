export { runMediaJob, startedAtOf, videoPrefix, type MediaJobDeps, type MediaJobWork } from './media-job';
export { StageTracker, type StageTrackerOptions } from './stage-tracker';
export { mediaJobDeps } from './deps';
