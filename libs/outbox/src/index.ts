import type { Prisma, PrismaClient } from '@video-pipeline/db';
import { toKafkaRecord, type CloudEvent } from '@video-pipeline/events';

/** A client that can write outbox rows: the Prisma client (for `$transaction([...])`) or an interactive transaction's. */
export type OutboxWriter = Pick<PrismaClient, 'outboxEvent'> | Pick<Prisma.TransactionClient, 'outboxEvent'>;

/**
 * Writes an event to the transactional outbox. Call it inside the
 * transaction that makes the change the event announces: the event exists
 * exactly when the change does, and the outbox relay publishes it after the
 * commit (with `topicPrefix` on its topic), in the order its video's events
 * were committed.
 *
 * Returns Prisma's lazy promise, so it also fits the array form of
 * `$transaction`.
 */
export function writeToOutbox(db: OutboxWriter, event: CloudEvent, topicPrefix: string) {
  const record = toKafkaRecord(event, topicPrefix);
  return (db as PrismaClient).outboxEvent.create({
    data: { id: event.id, topic: record.topic, key: record.key, type: event.type, headers: record.headers, payload: event.data },
  });
}
