import { queryRows, type PrismaClient } from '@video-pipeline/db';

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
    const rows = await queryRows<{ key: string }>(this.prisma, 'SELECT DISTINCT key FROM waiting_events WHERE consumer_group = $1 AND topic = $2', [this.groupId, topic]);
    return new Set(rows.map((row) => row.key));
  }

  /** Queues an event at its place (again, if it is there already). */
  async enqueue(place: QueuePlace, eventId: string | undefined): Promise<void> {
    await queryRows(
      this.prisma,
      `INSERT INTO waiting_events (consumer_group, topic, key, original_offset, event_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [this.groupId, place.topic, place.key, place.offset, eventId ?? null],
    );
  }

  async turn(place: QueuePlace): Promise<Turn> {
    const [row] = await queryRows<{ first: string | null; queued: boolean }>(
      this.prisma,
      `SELECT min(original_offset)::text AS first, bool_or(original_offset = $4) AS queued
       FROM waiting_events WHERE consumer_group = $1 AND topic = $2 AND key = $3`,
      [this.groupId, place.topic, place.key, place.offset],
    );
    if (!row?.queued) return 'unqueued';
    return row.first === place.offset ? 'first' : 'behind';
  }

  /** Every waiting event of the group, each key's in queue order (the first runs next). */
  async list(): Promise<WaitingEvent[]> {
    const rows = await queryRows<{ topic: string; key: string; offset: string; event_id: string | null; waiting_since: Date }>(
      this.prisma,
      `SELECT topic, key, original_offset::text AS offset, event_id, waiting_since FROM waiting_events
       WHERE consumer_group = $1 ORDER BY topic, key, original_offset`,
      [this.groupId],
    );
    return rows.map((row) => ({ topic: row.topic, key: row.key, offset: row.offset, eventId: row.event_id, waitingSince: row.waiting_since }));
  }

  /**
   * Empties the queues of these keys, or of every key: for ops, when the
   * waiting events are gone from the tiers (offsets reset past them) and
   * nothing would ever give up their places. Returns how many were dropped.
   */
  async release(keys?: readonly string[]): Promise<number> {
    const rows = keys
      ? await queryRows(this.prisma, 'DELETE FROM waiting_events WHERE consumer_group = $1 AND key = ANY($2::text[]) RETURNING key', [this.groupId, keys])
      : await queryRows(this.prisma, 'DELETE FROM waiting_events WHERE consumer_group = $1 RETURNING key', [this.groupId]);
    return rows.length;
  }

  /** Gives up an event's place, letting the next one of its key run. */
  async dequeue(places: readonly QueuePlace[]): Promise<void> {
    for (const place of places) {
      await queryRows(this.prisma, 'DELETE FROM waiting_events WHERE consumer_group = $1 AND topic = $2 AND key = $3 AND original_offset = $4', [
        this.groupId,
        place.topic,
        place.key,
        place.offset,
      ]);
    }
  }
}
