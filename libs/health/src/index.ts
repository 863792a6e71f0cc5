export { checkReadiness, CHECK_TIMEOUT_MS, type DependencyCheck, type CheckResult, type Readiness } from './readiness';
export { startHealthServer, type HealthServer } from './health-server';
export { stopOnSignals } from './shutdown';
