import type { CloudEvent, EventType } from '@video-pipeline/events';
import type { Logger } from '@video-pipeline/logging';
import type { Effects } from './processed-events';

export interface HandlerContext {
  /** The Kafka consumer group id (also the idempotency scope). */
  groupId: string;
  /** 1 on the first attempt; counts across retry tiers. */
  attempt: number;
  /** Carries the event id, video id and group on every line. */
  logger: Logger;
  /**
   * Aborted when this attempt runs past the group's `handlerTimeoutMs`
   * (reason: a `TimeoutError`) or shutdown's grace period runs out (an
   * `AbortError`). Long work (an ffmpeg run, a request) should stop and throw.
   */
  signal: AbortSignal;
}

/**
 * Handles one event. Work outside the database (files in S3) must be
 * idempotent itself, e.g. written under keys derived from the event. Database
 * work goes in the returned `Effects`, which run exactly once per event id in
 * the transaction that records the event as processed.
 */
export type EventHandler<T extends EventType> = (event: CloudEvent<T>, context: HandlerContext) => Promise<Effects | void>;

/** One handler per event type: a new event type is a compile error until every group decides what to do with it. */
export type EventHandlers = { [T in EventType]: EventHandler<T> | 'ignore' };
