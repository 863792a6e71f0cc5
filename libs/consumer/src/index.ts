export { ConsumerGroupRuntime, type ConsumerGroupOptions } from './consumer-group';
export type { EventHandler, EventHandlers, HandlerContext } from './handlers';
export type { Effects } from './idempotency';
export { IdempotencyStore } from './idempotency';
export { RecordPruner, defaultRecordsKeptDays, madeDaysAgo, recordsNeededDays, type RecordPrunerOptions } from './record-pruning';
export { WaitingRoom, type WaitingEvent } from './waiting-room';
export { ConsumerMetrics } from './metrics';
export { classifyFailure, type FailureVerdict } from './failure';

export { defaultRetryPolicy, backoffDelayMs, withJitter, type RetryPolicy, type BackoffPolicy } from './retry-policy';
export { createWorkerPrismaClient, runConsumerWorker, type WorkerDeps, type WorkerTuning } from './worker';
export { recordVideoReceipt } from './video-receipt';
export {
  readDeadLetters,
  replayDeadLetters,
  describeDeadLetter,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterRange,
  type DeadLetterSource,
  type ReadDeadLettersOptions,
  type ReadProgress,
  type ReplayDeadLettersOptions,
  type ReplayProgress,
  type ReplayResult,
} from './dead-letters';
