import type { Prisma, PrismaClient } from '@video-pipeline/db';

/** Database work a handler wants done exactly once, in the transaction that records the event as processed. */
export type Effects = (tx: Prisma.TransactionClient) => Promise<void>;

export interface Completion {
  eventId: string;
  effects?: Effects;
}

/**
 * The durable record of which event ids a consumer group has processed.
 * Recording an id and applying its effects share one transaction, so an event
 * redelivered after a crash, replayed, or published twice changes nothing.
 */
export class IdempotencyStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly groupId: string,
  ) {}

  /** Which of `eventIds` this group has already processed. */
  async processed(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = await this.prisma.$queryRaw<{ event_id: string }[]>`
      SELECT event_id::text AS event_id FROM processed_events
      WHERE consumer_group = ${this.groupId} AND event_id = ANY(${[...eventIds]}::uuid[])`;
    return new Set(rows.map((row) => row.event_id));
  }

  /**
   * Records the completions in order in one transaction, applying the effects
   * of those not recorded before; returns the ids that were new. Many events
   * per transaction keep the cost per event low.
   */
  async complete(completions: readonly Completion[]): Promise<Set<string>> {
    if (completions.length === 0) return new Set();
    return this.prisma.$transaction(async (tx) => {
      const ids = completions.map((completion) => completion.eventId);
      const inserted = await tx.$queryRaw<{ event_id: string }[]>`
        INSERT INTO processed_events (consumer_group, event_id)
        SELECT ${this.groupId}, id FROM unnest(${ids}::uuid[]) AS id
        ON CONFLICT DO NOTHING
        RETURNING event_id::text AS event_id`;
      const fresh = new Set(inserted.map((row) => row.event_id));
      // The same id twice in one batch (a relay that published twice) must apply its effects once.
      const unapplied = new Set(fresh);
      for (const completion of completions) {
        if (unapplied.delete(completion.eventId) && completion.effects) await completion.effects(tx);
      }
      return fresh;
    });
  }
}
