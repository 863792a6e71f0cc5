import { Prisma, queryRows, type PrismaClient } from '@video-pipeline/db';

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
    const [row] = await queryRows<IdList>(this.prisma, processedSql, [this.groupId, eventIds.join(',')]);
    return parseIdList(row);
  }

  /**
   * Records the completions in order, applying the effects of those not
   * recorded before, all in one transaction; returns the ids that were new.
   * Many events per statement keep the cost per event low, and without
   * effects the single INSERT is its own transaction.
   */
  async complete(completions: readonly Completion[]): Promise<Set<string>> {
    if (completions.length === 0) return new Set();
    const params = [this.groupId, completions.map((completion) => completion.eventId).join(',')];
    // Without effects the INSERT is its own transaction, and the hot path: plain SQL.
    if (!completions.some((completion) => completion.effects)) return parseIdList((await queryRows<IdList>(this.prisma, recordSql, params))[0]);

    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<IdList[]>(recordSql, ...params);
      const fresh = parseIdList(row);
      // The same id twice in one batch (a relay that published twice) must apply its effects once.
      const unapplied = new Set(fresh);
      for (const completion of completions) {
        if (unapplied.delete(completion.eventId) && completion.effects) await completion.effects(tx);
      }
      return fresh;
    });
  }
}

/**
 * Ids travel as one comma-separated text value each way: a uuid[] parameter
 * or one row per id costs the client far more per event than the database's
 * own work (measured with bench/consumer-throughput.ts).
 */
interface IdList {
  ids: string | null;
}

const processedSql = `
  SELECT string_agg(event_id::text, ',') AS ids FROM processed_events
  WHERE consumer_group = $1 AND event_id = ANY(string_to_array($2, ',')::uuid[])`;

const recordSql = `
  WITH inserted AS (
    INSERT INTO processed_events (consumer_group, event_id)
    SELECT $1, id FROM unnest(string_to_array($2, ',')::uuid[]) AS id
    ON CONFLICT DO NOTHING
    RETURNING event_id
  )
  SELECT string_agg(event_id::text, ',') AS ids FROM inserted`;

function parseIdList(row: IdList | undefined): Set<string> {
  return new Set(row?.ids ? row.ids.split(',') : []);
}
