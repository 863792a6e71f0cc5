import { Prisma, queryRows, sqlState, UNIQUE_VIOLATION, type PrismaClient } from '@video-pipeline/db';
import { lowestEventIdAt } from '@video-pipeline/events';

/** Database work a handler wants done exactly once, in the transaction that records the event as processed. */
export type Effects = (tx: Prisma.TransactionClient) => Promise<void>;

export interface Completion {
  eventId: string;
  effects?: Effects;
  /** Where the event was first published; unknown, every watermark of the group is raised past it. */
  origin?: Origin;
}

/** A partition an event was first published to. */
export interface Origin {
  topic: string;
  partition: number;
}

/** What a lookup of ids from one partition found. */
export interface PartitionLookup {
  processed: Set<string>;
  /**
   * The partition's watermark at the lookup: ids above it had not been
   * processed then. null when the group had processed nothing at all.
   */
  watermark: string | null;
}

/**
 * The durable record of which event ids a consumer group has processed.
 * Recording an id and applying its effects share one transaction, so an event
 * redelivered after a crash, replayed, or published twice changes nothing.
 *
 * The same transaction raises the watermark of the partition each event was
 * first published to: the highest id the group has recorded from it. A copy of
 * an event (redelivered, published twice, replayed) comes from the same
 * partition as the original, so an id above its partition's watermark cannot
 * have been processed, and a lookup need not probe for it. New events get
 * time-ordered ids (UUIDv7), so nearly all of a live stream is above the
 * watermark and its lookups probe almost nothing.
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
   * Which of `eventIds`, all first published to `origin`, this group has
   * already processed, probing only for those at or below the partition's
   * watermark; and the watermark, so that more ids of the same batch can be
   * left out of later lookups (see mayHaveBeenProcessed).
   */
  async processedFrom(origin: Origin, eventIds: readonly string[]): Promise<PartitionLookup> {
    const [row] = await queryRows<IdList & { watermark: string | null }>(this.prisma, processedFromSql, [this.groupId, eventIds.join(','), origin.topic, origin.partition]);
    return { processed: parseIdList(row), watermark: row?.watermark ?? null };
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
    const marks = watermarksOf(completions);
    const [mark] = marks;
    if (marks.length === 1 && mark!.origin && !completions.some((completion) => completion.effects)) {
      return this.record(ids, [this.groupId, ids.join(','), mark!.origin.topic, mark!.origin.partition, mark!.maxEventId]);
    }

    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<IdList[]>(recordSql, this.groupId, ids.join(','));
      for (const { origin, maxEventId } of marks) {
        if (origin) await tx.$executeRawUnsafe(markSql, this.groupId, origin.topic, origin.partition, maxEventId);
        else await tx.$executeRawUnsafe(markEverywhereSql, this.groupId, maxEventId);
      }
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
   * Deletes the records of events made before `madeBefore`, `batchSize` at a
   * time (each its own statement, so none holds locks for long), and returns
   * how many. An event id tells its age only if it is time-ordered (UUIDv7,
   * as every id the pipeline makes): those before the moment are one range of
   * the primary key. Records of other ids are kept.
   */
  async prune(madeBefore: Date, { batchSize = 10_000, onProgress }: { batchSize?: number; onProgress?: (deleted: number) => void } = {}): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [row] = await queryRows<{ deleted: number }>(this.prisma, pruneSql, [this.groupId, lowestEventIdAt(madeBefore), batchSize]);
      const count = row?.deleted ?? 0;
      deleted += count;
      if (count > 0) onProgress?.(deleted);
      if (count < batchSize) return deleted;
    }
  }

  /**
   * Records ids without effects, all from one partition: the hot path, one
   * plain SQL statement with the watermark. The lookup before handling
   * already skipped ids recorded earlier, so a plain INSERT nearly always
   * succeeds; only a race with another instance (during a rebalance) makes it
   * fail, and then the conflict-tolerant statement sorts out which ids were
   * new.
   */
  private async record(ids: readonly string[], params: readonly unknown[]): Promise<Set<string>> {
    try {
      await queryRows(this.prisma, recordNewMarkedSql, params);
      return new Set(ids);
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
    }
    return parseIdList((await queryRows<IdList>(this.prisma, recordMarkedSql, params))[0]);
  }
}

/**
 * Whether an id from a partition may have been processed, given the
 * watermark a lookup of the same partition returned: ids above it were not.
 * (Lowercase UUID text orders as Postgres orders uuids: by their bytes.)
 */
export function mayHaveBeenProcessed(eventId: string, watermark: string | null): boolean {
  return watermark !== null && eventId.toLowerCase() <= watermark;
}

/** The highest id per origin of the completions (one entry for those of unknown origin). */
function watermarksOf(completions: readonly Completion[]): { origin?: Origin; maxEventId: string }[] {
  // The hot path: a batch from an event's own topic, whose completions share one origin.
  const [first] = completions;
  if (first?.origin && completions.every((completion) => completion.origin === first.origin)) {
    let maxEventId = first.eventId.toLowerCase();
    for (const { eventId } of completions) {
      const id = eventId.toLowerCase();
      if (id > maxEventId) maxEventId = id;
    }
    return [{ origin: first.origin, maxEventId }];
  }
  const marks = new Map<string, { origin?: Origin; maxEventId: string }>();
  for (const { eventId, origin } of completions) {
    const id = eventId.toLowerCase();
    const key = origin ? `${origin.partition}:${origin.topic}` : '';
    const mark = marks.get(key);
    if (!mark) marks.set(key, { origin, maxEventId: id });
    else if (id > mark.maxEventId) mark.maxEventId = id;
  }
  // In one order for every transaction, so two that raise the same watermarks cannot deadlock.
  return [...marks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, mark]) => mark);
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

/**
 * The watermark of a partition: its own, or until it has one, the highest
 * id the group has recorded from anywhere (PG 15 has no max(uuid)), which
 * is at least as high. Parameters: $1 group, $3 topic, $4 partition.
 */
const watermarkSql = `coalesce(
    (SELECT max_event_id FROM processed_watermarks WHERE consumer_group = $1 AND topic = $3 AND partition = $4::int),
    (SELECT event_id FROM processed_events WHERE consumer_group = $1 ORDER BY event_id DESC LIMIT 1))`;

/** As processedSql, without probing for ids above the watermark (a one-time filter in the plan), and returning it. (Exported for the test of its plan.) */
export const processedFromSql = `
  WITH mark AS (SELECT ${watermarkSql} AS watermark)
  SELECT mark.watermark::text AS watermark, (
    SELECT string_agg(found.event_id::text, ',')
    FROM unnest(string_to_array($2, ',')::uuid[]) AS id
    CROSS JOIN LATERAL (
      SELECT event_id FROM processed_events WHERE consumer_group = $1 AND event_id = id AND id <= mark.watermark LIMIT 1
    ) AS found
  ) AS ids
  FROM mark`;

/**
 * Raises a partition's watermark to an id, creating it at no less than the
 * watermark it had without a row of its own (see watermarkSql). Made for
 * the parameter numbers of the statement it ends.
 */
const markSqlWith = (group: string, topic: string, partition: string, eventId: string) => `
  INSERT INTO processed_watermarks AS mark (consumer_group, topic, partition, max_event_id)
  VALUES (${group}, ${topic}, ${partition}::int, greatest(${eventId}::uuid, (SELECT event_id FROM processed_events WHERE consumer_group = ${group} ORDER BY event_id DESC LIMIT 1)))
  ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET max_event_id = greatest(mark.max_event_id, ${eventId}::uuid)`;

const markSql = markSqlWith('$1', '$2', '$3', '$4');

/** For ids of unknown origin: every watermark of the group is raised past them (the ones not made yet start above them anyway). */
const markEverywhereSql = `UPDATE processed_watermarks SET max_event_id = greatest(max_event_id, $2::uuid) WHERE consumer_group = $1`;

/** The watermark in the hot path's statements, after the ids ($2): $3 topic, $4 partition, $5 highest id. */
const markFromRecordSql = markSqlWith('$1', '$3', '$4', '$5');

/** Records ids none of which is recorded yet, and raises their partition's watermark: the common case, and a quarter cheaper for Postgres than recordSql. */
const recordNewMarkedSql = `
  WITH recorded AS (
    INSERT INTO processed_events (consumer_group, event_id)
    SELECT $1, id FROM unnest(string_to_array($2, ',')::uuid[]) AS id
  )
  ${markFromRecordSql}`;

/** Inserts those of the ids ($2) not recorded yet, returning them: for statements that must tell which ids were new. */
const insertedCte = `inserted AS (
    INSERT INTO processed_events (consumer_group, event_id)
    SELECT $1, id FROM unnest(string_to_array($2, ',')::uuid[]) AS id
    ON CONFLICT DO NOTHING
    RETURNING event_id
  )`;

const recordSql = `WITH ${insertedCte} SELECT string_agg(event_id::text, ',') AS ids FROM inserted`;

/** recordSql and the watermark, in one statement. */
const recordMarkedSql = `WITH ${insertedCte}, marked AS (${markFromRecordSql}) SELECT string_agg(event_id::text, ',') AS ids FROM inserted`;

/** Deletes up to $3 records of the group ($1) whose ids are UUIDv7s below $2 (the 15th character of a uuid's text is its version). */
const pruneSql = `
  WITH doomed AS (
    SELECT event_id FROM processed_events
    WHERE consumer_group = $1 AND event_id < $2::uuid AND substr(event_id::text, 15, 1) = '7'
    LIMIT $3
  ), deleted AS (
    DELETE FROM processed_events AS record USING doomed
    WHERE record.consumer_group = $1 AND record.event_id = doomed.event_id
    RETURNING 1
  )
  SELECT count(*)::int AS deleted FROM deleted`;

function parseIdList(row: IdList | undefined): Set<string> {
  return new Set(row?.ids ? row.ids.split(',') : []);
}
