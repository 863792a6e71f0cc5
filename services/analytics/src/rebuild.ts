import type { Kafka } from 'kafkajs';
import { analyticsSummary, type AnalyticsSummary } from '@video-pipeline/analytics-queries';
import { ProcessedEvents, type EventHandler } from '@video-pipeline/consumer';
import type { PrismaClient } from '@video-pipeline/db';
import { eventCatalog, fromKafkaRecord, type EventType } from '@video-pipeline/events';
import type { Logger } from '@video-pipeline/logging';
import { analyticsHandlers } from './handlers';

export interface RebuildOptions {
  kafka: Kafka;
  prisma: PrismaClient;
  logger: Logger;
  topicPrefix: string;
  /** The fresh group: its Kafka group id and the scope of the facts it writes. */
  groupId: string;
  onProgress?: (events: number) => void;
}

export interface RebuildResult {
  groupId: string;
  /** Events replayed (each event id once). */
  events: number;
  /** Records that were not a valid event (skipped, as the live group parks them). */
  malformed: number;
}

/**
 * Replays every video event topic from the beginning into a fresh group,
 * up to the end each partition had when the rebuild started, through the
 * analytics group's own handlers and the same once-per-event-id commit: its
 * facts are what the live group's would be, had it started today.
 */
export async function rebuildAnalytics(options: RebuildOptions): Promise<RebuildResult> {
  const { kafka, prisma, logger, topicPrefix, groupId } = options;
  const topics = [...new Set(Object.values(eventCatalog).map((entry) => topicPrefix + entry.topic))];
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, bigint>(); // `${topic}:${partition}` -> end offset still to reach
  try {
    for (const topic of topics) {
      for (const partition of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(partition.high) > BigInt(partition.low)) remaining.set(`${topic}:${partition.partition}`, BigInt(partition.high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  const records = new ProcessedEvents(prisma, groupId);
  let events = 0;
  let malformed = 0;
  if (remaining.size === 0) return { groupId, events, malformed };

  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const signal = new AbortController().signal;
  let finish!: () => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const key = `${batch.topic}:${batch.partition}`;
        const end = remaining.get(key);
        if (end === undefined) return;
        const completions = [];
        for (const message of batch.messages) {
          if (BigInt(message.offset) >= end) break;
          let event;
          try {
            event = fromKafkaRecord(message);
          } catch {
            malformed += 1;
            continue;
          }
          const handler = analyticsHandlers[event.type] as EventHandler<EventType>;
          const effects = await handler(event, { groupId, attempt: 1, logger, signal });
          completions.push({ eventId: event.id, effects: effects ?? undefined });
        }
        try {
          events += (await records.commit(completions)).size;
        } catch (error) {
          fail(error);
          return;
        }
        options.onProgress?.(events);
        // lastOffset() counts records kafkajs filtered out too, so a partition ending in one is still seen to end.
        if (BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(key);
        if (remaining.size === 0) finish();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return { groupId, events, malformed };
}

export interface Comparison {
  identical: boolean;
  /** The live group's numbers over the events the rebuild replayed. */
  live: AnalyticsSummary;
  rebuilt: AnalyticsSummary;
  /** Paths whose values differ, e.g. `stages.0.failed: 3 ≠ 4`. */
  differences: string[];
}

/** Compares the live numbers with a rebuild's, over the events the rebuild replayed (later ones are not in it). */
export async function compareWithLive(prisma: PrismaClient, liveGroupId: string, rebuildGroupId: string): Promise<Comparison> {
  const [live, rebuilt] = await Promise.all([
    analyticsSummary(prisma, { factsOf: liveGroupId, onlyEventsOf: rebuildGroupId }),
    analyticsSummary(prisma, { factsOf: rebuildGroupId }),
  ]);
  const differences = differencesOf(live, rebuilt);
  return { identical: differences.length === 0, live, rebuilt, differences };
}

/** Removes a rebuild's facts and idempotency records. */
export async function discardRebuild(prisma: PrismaClient, groupId: string): Promise<void> {
  await prisma.$transaction([prisma.analyticsFact.deleteMany({ where: { consumerGroup: groupId } }), prisma.processedEvent.deleteMany({ where: { consumerGroup: groupId } })]);
}

function differencesOf(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((key) => differencesOf((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key));
  }
  return Object.is(a, b) ? [] : [`${path}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`];
}
