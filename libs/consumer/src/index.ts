export { ConsumerGroupRuntime, type ConsumerGroupOptions } from './consumer-group';
export { handlerOf } from './handlers';
export type { DeadLetterHook, DeadLetterReason, EventHandler, EventHandlers, HandlerContext, HandlerWithDeadLetters } from './handlers';
export { ProcessedEvents, type Effects } from './processed-events';
export { RecordPruner, daysAgo, defaultRecordsKeptDays, recordsNeededDays, type RecordPrunerOptions } from './record-pruning';
export { WaitingRoom, type WaitingEvent } from './waiting-room';
export { ConsumerMetrics } from './metrics';
export { classifyFailure, type FailureVerdict } from './failure';
export { defaultRetryPolicy, type RetryPolicy } from './retry-policy';
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
