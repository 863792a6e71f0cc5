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

/** Why an event was parked in the dead-letter topic: the last failure's code and message. */
export interface DeadLetterReason {
  code: string;
  message: string;
}

/**
 * What a group records when the runtime parks an event of a type in the
 * dead-letter topic, e.g. ending the video's stage as failed and announcing
 * it through the outbox, so that work which will not be retried does not
 * look pending for ever. The effects run in a transaction of their own,
 * before the event is parked. They must change nothing the second time: a
 * replayed dead letter that fails again is parked again.
 */
export type DeadLetterHook<T extends EventType> = (event: CloudEvent<T>, reason: DeadLetterReason) => Effects;

/** A handler with what its group records when an event of its type is dead-lettered. */
export interface HandlerWithDeadLetters<T extends EventType> {
  handle: EventHandler<T>;
  deadLettered: DeadLetterHook<T>;
}

/** One handler per event type: a new event type is a compile error until every group decides what to do with it. */
export type EventHandlers = { [T in EventType]: EventHandler<T> | HandlerWithDeadLetters<T> | 'ignore' };

/** The handler of an entry of `EventHandlers` (undefined for `'ignore'`). */
export function handlerOf<T extends EventType>(entry: EventHandlers[T]): EventHandler<T> | undefined {
  if (entry === 'ignore') return undefined;
  return (typeof entry === 'function' ? entry : entry.handle) as EventHandler<T>;
}

/** The dead-letter hook of an entry of `EventHandlers`, if it declares one. */
export function deadLetterHookOf<T extends EventType>(entry: EventHandlers[T]): DeadLetterHook<T> | undefined {
  return typeof entry === 'object' ? (entry.deadLettered as DeadLetterHook<T>) : undefined;
}
