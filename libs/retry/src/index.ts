export { backoffDelayMs, backoffProblems, withJitter, type BackoffPolicy } from './backoff';
export { systemClock, type Clock, type Random } from './clock';
export { isRetriable, retry, type RetryOptions } from './retry';
export { untilAborted } from './until-aborted';
