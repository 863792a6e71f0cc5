import type { IHeaders } from 'kafkajs';
import { headerString } from '@video-pipeline/events';

/**
 * Headers the runtime adds when it moves an event to a retry tier or the
 * dead-letter topic. The original CloudEvents headers, key and value are kept
 * untouched, so a replayed event is byte-for-byte the one first published.
 */
export const deliveryHeaders = {
  /** Attempts made so far, across all deliveries. */
  attempts: 'pipeline-attempts',
  /** Epoch ms before which a retry tier must not run the event. */
  retryAt: 'pipeline-retry-at',
  /** Retry tier the event sits in (1-based). */
  tier: 'pipeline-retry-tier',
  originalTopic: 'pipeline-original-topic',
  originalPartition: 'pipeline-original-partition',
  originalOffset: 'pipeline-original-offset',
  group: 'pipeline-group',
  errorCode: 'pipeline-error-code',
  errorMessage: 'pipeline-error-message',
  failedAt: 'pipeline-failed-at',
  replayedAt: 'pipeline-replayed-at',
} as const;

const ownHeaders = new Set<string>(Object.values(deliveryHeaders));

export function headerNumber(headers: IHeaders | undefined, name: string): number | undefined {
  const raw = headerString(headers, name);
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** The event's own headers, without anything a previous retry or dead-lettering added. */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !ownHeaders.has(name)));
}
