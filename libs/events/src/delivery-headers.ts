import { headerString, type RawHeaders } from './kafka-binding';

/**
 * Headers the consumer runtime adds when it moves an event to a retry tier
 * or the dead-letter topic; `ops dlq` and replays read them. The event's own
 * CloudEvents headers, key and value are kept untouched, so a replayed
 * event is byte for byte the one first published.
 */
export const deliveryHeaders = {
  /** Attempts made so far, across all deliveries. */
  attempts: 'pipeline-attempts',
  /** Epoch ms before which a retry tier must not run the event. */
  retryAt: 'pipeline-retry-at',
  /** Retry tier the event sits in (1-based). */
  tier: 'pipeline-retry-tier',
  /** Where the event was first published: its topic, partition and offset there. */
  originalTopic: 'pipeline-original-topic',
  originalPartition: 'pipeline-original-partition',
  originalOffset: 'pipeline-original-offset',
  /** The group (its Kafka group id) that dead-lettered it. */
  group: 'pipeline-group',
  /** The last failure: a code from `@video-pipeline/errors`' closed list, and its message. */
  errorCode: 'pipeline-error-code',
  errorMessage: 'pipeline-error-message',
  failedAt: 'pipeline-failed-at',
  replayedAt: 'pipeline-replayed-at',
} as const;

const added = new Set<string>(Object.values(deliveryHeaders));

/** A header's first value as a finite number, or undefined. */
export function headerNumber(headers: RawHeaders | undefined, name: string): number | undefined {
  const raw = headerString(headers, name);
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** The event's own headers, without anything a retry or dead-lettering added. */
export function originalHeaders<H extends RawHeaders>(headers: H | undefined): Partial<H> {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !added.has(name))) as Partial<H>;
}
