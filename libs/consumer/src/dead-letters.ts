import { randomUUID } from 'node:crypto';
import type { Admin, IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import { deadLetterTopic, deliveryHeaders, headerNumber, headerString, originalHeaders, retryTopic } from '@video-pipeline/events';
import { createProducer } from '@video-pipeline/kafka';
import type { Logger } from '@video-pipeline/logging';
import { retry } from '@video-pipeline/retry';

/** A record of a group's dead-letter topic, with the facts the runtime parked it with. */
export interface DeadLetter {
  partition: number;
  offset: string;
  /** The CloudEvents id; undefined for a record that never had a valid one. */
  eventId?: string;
  eventType?: string;
  errorCode?: string;
  errorMessage?: string;
  attempts?: number;
  originalTopic?: string;
  originalPartition?: number;
  originalOffset?: string;
  failedAt?: string;
  message: KafkaMessage;
}

/** Reads what the runtime wrote on a dead-letter record. */
export function describeDeadLetter(partition: number, message: KafkaMessage): DeadLetter {
  const text = (name: string) => headerString(message.headers, name);
  return {
    partition,
    offset: message.offset,
    eventId: text('ce_id'),
    eventType: text('ce_type'),
    errorCode: text(deliveryHeaders.errorCode),
    errorMessage: text(deliveryHeaders.errorMessage),
    attempts: headerNumber(message.headers, deliveryHeaders.attempts),
    originalTopic: text(deliveryHeaders.originalTopic),
    originalPartition: headerNumber(message.headers, deliveryHeaders.originalPartition),
    originalOffset: text(deliveryHeaders.originalOffset),
    failedAt: text(deliveryHeaders.failedAt),
    message,
  };
}

/** Which dead letters to replay; every condition given must hold. */
export interface DeadLetterFilter {
  eventIds?: readonly string[];
  errorCodes?: readonly string[];
  where?: (deadLetter: DeadLetter) => boolean;
}

/** Offsets of one partition to read, both ends inclusive. */
export interface DeadLetterRange {
  partition: number;
  /** Default: the earliest record kept. */
  from?: string;
  /** Default: the last record present when the reading starts. */
  to?: string;
}

export interface DeadLetterSource {
  kafka: Kafka;
  /** The group's name, e.g. `transcoder` (not the prefixed Kafka group id). */
  group: string;
  /** As configured for the group's runtime. Default ''. */
  topicPrefix?: string;
  /** Partitions and offsets to read; default every record in every partition as of the start. */
  ranges?: readonly DeadLetterRange[];
  logger?: Logger;
}

export interface ReadProgress {
  /** Records in the ranges to read, known when the reading starts. */
  total: number;
  scanned: number;
  /** The record just read. */
  deadLetter: DeadLetter;
}

export interface ReadDeadLettersOptions extends DeadLetterSource {
  /** Called with each record, in offset order per partition; awaited. */
  onRecord?: (deadLetter: DeadLetter) => void | Promise<void>;
  onProgress?: (progress: ReadProgress) => void;
}

/**
 * Reads a group's dead-letter topic (the given ranges, or everything present
 * when it starts) without consuming it: see `scanDeadLetters`.
 */
export async function readDeadLetters(options: ReadDeadLettersOptions): Promise<{ scanned: number }> {
  let scanned = 0;
  await scanDeadLetters(options, async (deadLetters, total) => {
    for (const deadLetter of deadLetters) {
      await options.onRecord?.(deadLetter);
      scanned += 1;
      options.onProgress?.({ total, scanned, deadLetter });
    }
  });
  return { scanned };
}

export interface ReplayProgress extends ReadProgress {
  replayed: number;
  skipped: number;
  /** Whether the record just read matched the filter and was replayed. */
  replayedIt: boolean;
}

export interface ReplayResult {
  scanned: number;
  replayed: number;
  /** Read but not matching the filter. */
  skipped: number;
}

export interface ReplayDeadLettersOptions extends DeadLetterSource {
  filter?: DeadLetterFilter;
  /** Called after each record read, in order, once its replay (if any) is durably in the retry tier. */
  onProgress?: (progress: ReplayProgress) => void;
  /** The replay's clock; default Date.now. */
  now?: () => number;
}

/**
 * Re-publishes a group's dead letters to its first retry tier, due at once,
 * so the group's runtime tries them again (with a fresh attempt count) and,
 * its idempotency record being per event id, applies each event's effects at
 * most once however often it is replayed. Only records present when the
 * replay starts are read, so an event that fails again and comes back to the
 * dead-letter topic is not replayed twice in one run.
 *
 * The group's runtime must have at least one retry tier to pick the records up.
 */
export async function replayDeadLetters(options: ReplayDeadLettersOptions): Promise<ReplayResult> {
  const { kafka, group, topicPrefix = '', filter = {}, onProgress, logger, now = Date.now } = options;
  const target = topicPrefix + retryTopic(group, 1);
  const result: ReplayResult = { scanned: 0, replayed: 0, skipped: 0 };
  const producer = createProducer(kafka); // partitions by key like the runtime, so a replay lands where its retries would
  await producer.connect();
  try {
    await scanDeadLetters(options, async (deadLetters, total) => {
      const replays: Message[] = [];
      const progress: ReplayProgress[] = [];
      for (const deadLetter of deadLetters) {
        const replayedIt = matches(deadLetter, filter);
        result.scanned += 1;
        if (replayedIt) {
          result.replayed += 1;
          replays.push(replayOf(deadLetter.message, now()));
        } else {
          result.skipped += 1;
        }
        progress.push({ total, ...result, deadLetter, replayedIt });
      }
      if (replays.length > 0) await producer.send({ topic: target, acks: -1, messages: replays });
      progress.forEach((entry) => onProgress?.(entry));
    });
  } finally {
    await producer.disconnect();
  }
  logger?.info({ group, ...result }, 'replayed dead letters');
  return result;
}

/**
 * Hands the records of a group's dead-letter topic to `onBatch`, a fetched
 * batch at a time. They are read by a throwaway consumer group that never
 * commits and is deleted afterwards, so reading leaves no trace on the topic
 * and the same records can be read again. Returns the records in range.
 */
async function scanDeadLetters(source: DeadLetterSource, onBatch: (deadLetters: DeadLetter[], total: number) => Promise<void>): Promise<number> {
  const { kafka, group, topicPrefix = '', logger } = source;
  const topic = topicPrefix + deadLetterTopic(group);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ranges = resolveRanges(await admin.fetchTopicOffsets(topic), source.ranges);
    const total = ranges.reduce((sum, range) => sum + Number(range.end - range.next), 0);
    const pending = new Map(ranges.filter((range) => range.next < range.end).map((range) => [range.partition, range]));
    if (pending.size === 0) return total;

    const readerGroupId = `${topicPrefix}${group}.dlq-reader.${randomUUID()}`;
    const reader = kafka.consumer({ groupId: readerGroupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
    let finish!: () => void;
    let fail!: (error: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    reader.on(reader.events.CRASH, ({ payload }) => fail(payload.error));
    try {
      await reader.connect();
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      // Offsets are resolved (so fetching moves on) but never committed.
      await reader.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const range = pending.get(batch.partition);
          if (!range) return;
          try {
            const deadLetters: DeadLetter[] = [];
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              if (offset < range.next) continue;
              if (offset >= range.end) break;
              range.next = offset + 1n;
              deadLetters.push(describeDeadLetter(batch.partition, message));
            }
            if (deadLetters.length > 0) await onBatch(deadLetters, total);
            if (range.next >= range.end) pending.delete(batch.partition);
            if (pending.size === 0) finish();
          } catch (error) {
            pending.clear();
            fail(error);
          }
        },
      });
      // The reader joined with no committed offsets and starts at the earliest; jump to each range's start.
      for (const range of pending.values()) reader.seek({ topic, partition: range.partition, offset: range.next.toString() });
      await finished;
    } finally {
      await reader.disconnect().catch((error: unknown) => logger?.warn({ err: error }, 'could not disconnect the dead-letter reader'));
      await deleteGroup(admin, readerGroupId).catch((error: unknown) => logger?.warn({ err: error, groupId: readerGroupId }, 'could not delete the dead-letter reader group'));
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs gives up at once unless the coordinator moved; a leave still settling deserves a few more tries. */
function deleteGroup(admin: Admin, groupId: string): Promise<void> {
  return retry(() => admin.deleteGroups([groupId]).then(() => undefined), { attempts: 5, backoff: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0 }, retriable: () => true });
}

interface PartitionRange {
  partition: number;
  /** Next offset to read. */
  next: bigint;
  /** One past the last offset to read. */
  end: bigint;
}

function resolveRanges(offsets: { partition: number; low: string; high: string }[], requested?: readonly DeadLetterRange[]): PartitionRange[] {
  const wanted: readonly DeadLetterRange[] = requested ?? offsets.map((entry) => ({ partition: entry.partition }));
  return wanted.map((range) => {
    const kept = offsets.find((entry) => entry.partition === range.partition);
    if (!kept) throw new Error(`the dead-letter topic has no partition ${range.partition}`);
    const low = BigInt(kept.low);
    const high = BigInt(kept.high);
    const from = range.from === undefined ? low : BigInt(range.from);
    const end = range.to === undefined ? high : BigInt(range.to) + 1n;
    return { partition: range.partition, next: from > low ? from : low, end: end < high ? end : high };
  });
}

function matches(deadLetter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.eventIds && !(deadLetter.eventId && filter.eventIds.some((id) => id.toLowerCase() === deadLetter.eventId!.toLowerCase()))) return false;
  if (filter.errorCodes && !(deadLetter.errorCode && filter.errorCodes.includes(deadLetter.errorCode))) return false;
  return filter.where ? filter.where(deadLetter) : true;
}

/** The original record, marked as due now in tier 1 and as replayed; where it first came from is kept. */
function replayOf(message: KafkaMessage, nowMs: number): Message {
  const keep = (name: string): IHeaders => {
    const value = headerString(message.headers, name);
    return value === undefined ? {} : { [name]: value };
  };
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...originalHeaders(message.headers),
      ...keep(deliveryHeaders.originalTopic),
      ...keep(deliveryHeaders.originalPartition),
      ...keep(deliveryHeaders.originalOffset),
      [deliveryHeaders.tier]: '1',
      [deliveryHeaders.retryAt]: String(nowMs),
      [deliveryHeaders.replayedAt]: new Date(nowMs).toISOString(),
    },
  };
}
