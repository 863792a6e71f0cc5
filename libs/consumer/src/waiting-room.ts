import type { PrismaClient } from '@video-pipeline/db';

/** Where an event stands in its key's queue: its key and first publication. */
export interface QueuePlace {
  /** The topic the event was first published to. */
  topic: string;
  key: string;
  /** Its offset there. */
  offset: string;
}

/** An event waiting in its key's queue, as ops see it. */
export interface WaitingEvent extends QueuePlace {
  eventId: string | null;
  waitingSince: Date;
}

/** Whether an event in a retry tier may run now. */
export type Turn =
  /** It is the first of its key's waiting events. */
  | 'first'
  /** An event published before it still waits: it waits on. */
  | 'behind'
  /** It has no place in the queue (a replay, or a copy of an event already done): it runs as any retry does. */
  | 'unqueued';

/**
 * Per-key queues of the events a consumer group has moved to its retry
 * tiers, kept in Postgres so that every instance, and the next owner of a
 * partition, sees them. A key with waiting events is held: its later events
 * join the queue instead of running, and of the queued ones only the first
 * published may run. So one video's events are handled in publication
 * order even when one of them needs retries, while other keys go on.
 *
 * A place is taken before the event is forwarded to a tier and given up after
 * the event is done (committed, skipped as a duplicate or dead-lettered): a
 * crash in between leaves the key held for one more delivery, never an event
 * running out of order.
 */
export class WaitingRoom {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly groupId: string,
  ) {}

  /** The keys of `topic` that are held now. Nearly always none, and then one index probe. */
  async heldKeys(topic: string): Promise<Set<string>> {
    const rows = await this.prisma.$queryRaw<{ key: string }[]>`SELECT DISTINCT key FROM waiting_events WHERE consumer_group = ${this.groupId} AND topic = ${topic}`;
    return new Set(rows.map((row) => row.key));
  }

  /** Queues an event at its place (again, if it is there already). */
  async enqueue(place: QueuePlace, eventId: string | undefined): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO waiting_events (consumer_group, topic, key, original_offset, event_id)
      VALUES (${this.groupId}, ${place.topic}, ${place.key}, ${BigInt(place.offset)}, ${eventId ?? null})
      ON CONFLICT DO NOTHING`;
  }

  async turn(place: QueuePlace): Promise<Turn> {
    const [row] = await this.prisma.$queryRaw<{ first: string | null; queued: boolean | null }[]>`
      SELECT min(original_offset)::text AS first, bool_or(original_offset = ${BigInt(place.offset)}) AS queued
      FROM waiting_events WHERE consumer_group = ${this.groupId} AND topic = ${place.topic} AND key = ${place.key}`;
    if (!row?.queued) return 'unqueued';
    return row.first === place.offset ? 'first' : 'behind';
  }

  /** Every waiting event of the group, each key's in queue order (the first runs next). */
  async list(): Promise<WaitingEvent[]> {
    const rows = await this.prisma.waitingEvent.findMany({ where: { consumerGroup: this.groupId }, orderBy: [{ topic: 'asc' }, { key: 'asc' }, { originalOffset: 'asc' }] });
    return rows.map((row) => ({ topic: row.topic, key: row.key, offset: row.originalOffset.toString(), eventId: row.eventId, waitingSince: row.waitingSince }));
  }

  /**
   * Empties the queues of these keys, or of every key: for ops, when the
   * waiting events are gone from the tiers (offsets reset past them) and
   * nothing would ever give up their places. Returns how many were dropped.
   */
  async release(keys?: readonly string[]): Promise<number> {
    const { count } = await this.prisma.waitingEvent.deleteMany({ where: { consumerGroup: this.groupId, ...(keys ? { key: { in: [...keys] } } : {}) } });
    return count;
  }

  /** Gives up an event's place, letting the next one of its key run. */
  async dequeue(place: QueuePlace): Promise<void> {
    await this.prisma.waitingEvent.deleteMany({ where: { consumerGroup: this.groupId, topic: place.topic, key: place.key, originalOffset: BigInt(place.offset) } });
  }
}
