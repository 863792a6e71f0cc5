import { Prisma, queryRows, sqlState, UNIQUE_VIOLATION, type PrismaClient } from '@video-pipeline/db';

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
    const ids = completions.map((completion) => completion.eventId);
    const params = [this.groupId, ids.join(',')];
    if (!completions.some((completion) => completion.effects)) return this.record(ids, params);

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

  /**
   * Records ids without effects: the hot path, in plain SQL. The lookup before
   * handling already skipped ids recorded earlier, so a plain INSERT nearly
   * always succeeds; only a race with another instance (during a rebalance)
   * makes it fail, and then the conflict-tolerant statement sorts out which ids
   * were new.
   */
  private async record(ids: readonly string[], params: readonly string[]): Promise<Set<string>> {
    try {
      await queryRows(this.prisma, recordNewSql, params);
      return new Set(ids);
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
    }
    return parseIdList((await queryRows<IdList>(this.prisma, recordSql, params))[0]);
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

/**
 * One index probe per id, whatever the statistics say. The obvious
 * `consumer_group = $1 AND event_id = ANY(...)` is planned from them, and
 * for a group that grew since the last ANALYZE (a new group draining a
 * backlog) Postgres chose to scan all of the group's rows for every lookup.
 * A LATERAL subquery with LIMIT cannot be turned into a join, so each id is
 * looked up by itself in the primary key. (Exported for the test of its plan.)
 */
export const processedSql = `
  SELECT string_agg(found.event_id::text, ',') AS ids
  FROM unnest(string_to_array($2, ',')::uuid[]) AS id
  CROSS JOIN LATERAL (
    SELECT event_id FROM processed_events WHERE consumer_group = $1 AND event_id = id LIMIT 1
  ) AS found`;

/** Records ids none of which is recorded yet: the common case, and a quarter cheaper for Postgres than recordSql. */
const recordNewSql = `
  INSERT INTO processed_events (consumer_group, event_id)
  SELECT $1, id FROM unnest(string_to_array($2, ',')::uuid[]) AS id`;

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
