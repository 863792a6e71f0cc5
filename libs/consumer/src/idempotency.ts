import { inTransaction, isTransactionTimeout, Prisma, queryRows, sqlState, statementsIn, type PrismaClient, type RunStatement } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { lowestEventIdAt } from '@video-pipeline/events';

/** Database work a handler wants done exactly once, in the transaction that records the event as processed. */
export type Effects = (tx: Prisma.TransactionClient) => Promise<void>;

export interface Completion {
  eventId: string;
  effects?: Effects;
  /**
   * Where the event was first published, and so where any copy of it is.
   * Unknown (an unkeyed record, whose copies may be anywhere): every
   * watermark of the group is raised past it.
   */
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
   * processed then. null when nothing the partition's events could be was
   * recorded (no watermark of its own, nor an unattributed one).
   */
  watermark: string | null;
  /** How many commits had recorded events of the partition by then (see `complete`). */
  version: number;
}

/**
 * The durable record of which event ids a consumer group has processed.
 * Recording an id and applying its effects share one transaction, so an event
 * redelivered after a crash, replayed, or published twice changes nothing.
 *
 * Ids are recorded a commit at a time, as one row holding the commit's ids
 * (`processed_event_sets`): Postgres' cost is per row and per index entry, and
 * a row per id cost it about four times as much CPU. A set is found by the
 * range of ids it spans (a GiST index), then checked for the id itself. Only
 * time-ordered ids (UUIDv7, as the pipeline makes) share a set; any other id
 * is a set of its own.
 *
 * The same transaction raises the watermark of the partition each event was
 * first published to: the highest id the group has recorded from it. A copy of
 * an event (redelivered, published twice, replayed) comes from the same
 * partition as the original, so an id above its partition's watermark cannot
 * have been processed, and a lookup need not probe for it. New events get
 * time-ordered ids (UUIDv7), so nearly all of a live stream is above the
 * watermark and its lookups probe almost nothing.
 *
 * Sets have no unique key to stop two instances (during a rebalance) from
 * recording the same id. Instead each partition's watermark row counts the
 * commits that recorded its events (`version`), and every commit takes the
 * row's lock as it raises the count. A commit that still finds the version
 * its lookup saw knows that nobody recorded any of its partition's events
 * since, so the ids that lookup did not find are new: the hot path records
 * them with one statement. Any other commit locks its partitions' rows first
 * and then asks which of its ids are recorded.
 */
export class IdempotencyStore {
  private readonly commitTimeoutMs: number;

  constructor(
    private readonly prisma: PrismaClient,
    /** The Kafka group id: the records' scope. */
    readonly groupId: string,
    { commitTimeoutMs = DEFAULT_COMMIT_TIMEOUT_MS }: { commitTimeoutMs?: number } = {},
  ) {
    this.commitTimeoutMs = commitTimeoutMs;
  }

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
   * left out of later lookups (see mayHaveBeenProcessed), and the version
   * that a later `complete` of these ids may expect.
   */
  async processedFrom(origin: Origin, eventIds: readonly string[]): Promise<PartitionLookup> {
    const [row] = await queryRows<IdList & { watermark: string | null; version: string | null }>(this.prisma, processedFromSql, [this.groupId, eventIds.join(','), origin.topic, origin.partition]);
    return { processed: parseIdList(row), watermark: row?.watermark ?? null, version: Number(row?.version ?? 0) };
  }

  /**
   * Records the completions in order, applying the effects of those not
   * recorded before, all in one transaction; returns the ids that were new.
   *
   * `expectedVersion` is for completions without effects, all from one
   * partition, none of which a lookup found: the version that lookup saw
   * plus the commits of the partition made since. If the partition is still
   * at that version, they are recorded with one statement (the hot path);
   * otherwise (or without it) the commit locks its partitions and checks.
   *
   * An error that effects threw is passed on as it is (failedInEffects
   * tells it); a wait for a lock that ran past the session's lock_timeout
   * (set to commitTimeoutMs in workers) fails as `commit_timeout`.
   */
  async complete(completions: readonly Completion[], expectedVersion?: number): Promise<Set<string>> {
    try {
      return await this.record(completions, expectedVersion);
    } catch (error) {
      if (sqlState(error) !== LOCK_NOT_AVAILABLE || failedInEffects(error)) throw error;
      throw new PipelineError('commit_timeout', `the commit of ${eventCount(completions.length)} waited longer than lock_timeout for a lock another transaction holds`, { cause: error });
    }
  }

  private async record(completions: readonly Completion[], expectedVersion: number | undefined): Promise<Set<string>> {
    if (completions.length === 0) return new Set();
    // Ids are compared as text below, which orders them as Postgres orders uuids only in lowercase.
    const ids = completions.map((completion) => completion.eventId.toLowerCase());
    const origin = commonOrigin(completions);
    if (expectedVersion !== undefined && origin && !completions.some((completion) => completion.effects)) {
      const set = spanOf(ids);
      if (set.timeOrdered) {
        const recorded = await queryRows(this.prisma, recordExpectedSql, [this.groupId, ids.join(','), origin.topic, origin.partition, set.last, set.first, expectedVersion]);
        if (recorded.length > 0) return new Set(ids);
      }
    }
    return this.completeLocked(completions, ids, watermarksOf(completions, ids));
  }

  /**
   * Deletes the records of events made before `madeBefore`, a set of up to
   * a commit's records at a time, `batchSize` sets per statement (so none
   * holds locks for long), and returns how many records. An event id tells
   * its age only if it is time-ordered (UUIDv7, as every id the pipeline
   * makes); sets holding any other id are kept. An aborted `signal` stops
   * it between statements.
   */
  async prune(madeBefore: Date, { batchSize = 100, onProgress, signal }: { batchSize?: number; onProgress?: (deleted: number) => void; signal?: AbortSignal } = {}): Promise<number> {
    let deleted = 0;
    while (!signal?.aborted) {
      const [row] = await queryRows<{ sets: number; records: number }>(this.prisma, pruneSql, [this.groupId, lowestEventIdAt(madeBefore), batchSize]);
      deleted += row?.records ?? 0;
      if ((row?.sets ?? 0) > 0) onProgress?.(deleted);
      if ((row?.sets ?? 0) < batchSize) break;
    }
    return deleted;
  }

  /**
   * The careful commit, in one transaction: Prisma's when there are effects
   * to apply in it, else straight on the pool (3.0–3.6 ms for 1 000 ids
   * instead of 4.5–5.2).
   */
  private completeLocked(completions: readonly Completion[], ids: readonly string[], marks: readonly Watermark[]): Promise<Set<string>> {
    if (!completions.some((completion) => completion.effects)) return inTransaction(this.prisma, (run) => this.recordLocked(run, ids, marks));
    const timeoutMs = this.commitTimeoutMs;
    const timedOut = (reason: string, cause?: unknown) =>
      new PipelineError('commit_timeout', `the effects of ${eventCount(completions.length)} did not commit within ${timeoutMs} ms (commitTimeoutMs): ${reason}`, { cause });
    let deadline: NodeJS.Timeout | undefined;
    return this.prisma
      .$transaction(
        async (tx) => {
          // Prisma rolls back at its timeout but waits for the callback: effects that never settle would hold the commit for good.
          const expired = new Promise<never>((_, reject) => {
            deadline = setTimeout(() => reject(timedOut('the transaction was still running')), timeoutMs);
          });
          expired.catch(() => undefined); // raced only while effects run
          const fresh = await this.recordLocked(statementsIn(tx), ids, marks);
          const unapplied = new Set(fresh);
          for (const [index, completion] of completions.entries()) {
            if (unapplied.delete(ids[index]!) && completion.effects) await Promise.race([completion.effects(tx), expired]).catch(blameEffects);
          }
          return fresh;
        },
        // Starting may wait as long (Prisma's default: 2 s): on a busy pool, that is where the time goes.
        { timeout: timeoutMs, maxWait: timeoutMs },
      )
      .catch((error: unknown) => {
        if (!isTransactionTimeout(error)) throw error;
        // Prisma's message starts with the call site; its last line says what happened.
        throw timedOut((error as Error).message.trim().split('\n').at(-1)!, error);
      })
      .finally(() => clearTimeout(deadline));
  }

  /**
   * Locks the watermarks of the completions' partitions (making those a
   * partition does not have yet), then records the ids no commit recorded
   * before and raises the watermarks and the versions; returns the new ids.
   * Commits of known partitions share the group's advisory lock; one with
   * an unknown partition (raising every watermark) takes it alone, so no
   * partition's first commit slips past it.
   */
  private async recordLocked(run: RunStatement, ids: readonly string[], marks: readonly Watermark[]): Promise<Set<string>> {
    const everywhere = marks.some((mark) => !mark.origin);
    await run(everywhere ? lockGroupSql : shareGroupSql, [this.groupId]);
    const mayBeRecorded: string[] = [];
    for (const mark of marks) {
      if (!mark.origin) {
        await run(createMarkSql, [this.groupId, UNATTRIBUTED.topic, UNATTRIBUTED.partition]);
        await run(lockEveryMarkSql, [this.groupId]);
        mayBeRecorded.push(...mark.ids);
        continue;
      }
      const { topic, partition } = mark.origin;
      await run(createMarkSql, [this.groupId, topic, partition]);
      const [row] = await run<{ watermark: string }>(lockMarkSql, [this.groupId, topic, partition]);
      mayBeRecorded.push(...mark.ids.filter((id) => mayHaveBeenProcessed(id, row!.watermark)));
    }
    const [found] = mayBeRecorded.length > 0 ? await run<IdList>(processedSql, [this.groupId, mayBeRecorded.join(',')]) : [];
    const recorded = parseIdList(found);
    // The same id twice in one batch (a relay that published twice) is new, and applies its effects, once.
    const fresh = new Set(ids.filter((id) => !recorded.has(id)));
    const timeOrdered = [...fresh].filter(isTimeOrdered);
    const ageless = [...fresh].filter((id) => !isTimeOrdered(id));
    if (timeOrdered.length > 0) {
      const set = spanOf(timeOrdered);
      await run(insertSetSql, [this.groupId, timeOrdered.join(','), set.first, set.last]);
    }
    if (ageless.length > 0) await run(insertAgelessSql, [this.groupId, ageless.join(',')]);
    for (const { origin, maxEventId } of marks) {
      if (origin) await run(raiseMarkSql, [this.groupId, origin.topic, origin.partition, maxEventId]);
      else await run(raiseEveryMarkSql, [this.groupId, maxEventId]);
    }
    return fresh;
  }
}

/**
 * Errors that effects threw, or ran out of time in: the fault of their own
 * event, where any other failure of a commit (its own statements, the
 * connection, a lock held elsewhere) would fail any event committed alone.
 */
const effectsFailures = new WeakSet<object>();

/** Whether `complete` failed in an event's effects rather than in the commit around them. */
export function failedInEffects(error: unknown): boolean {
  return typeof error === 'object' && error !== null && effectsFailures.has(error);
}

function blameEffects(error: unknown): never {
  const failure = typeof error === 'object' && error !== null ? error : new Error(String(error));
  effectsFailures.add(failure);
  throw failure;
}

/** Postgres' lock_not_available: a lock wait ran past lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';

const eventCount = (count: number) => (count === 1 ? 'an event' : `${count} events`);

/**
 * How long a transaction applying effects may take by default. Prisma's own
 * default (5 s) is too short for a full commit on a busy machine: 1 000
 * receipts (recordVideoReceipt) take about 1 s on an idle one.
 */
export const DEFAULT_COMMIT_TIMEOUT_MS = 60_000;

/**
 * Whether an id from a partition may have been processed, given the
 * watermark a lookup of the same partition returned: ids above it were not.
 * (Lowercase UUID text orders as Postgres orders uuids: by their bytes.)
 */
export function mayHaveBeenProcessed(eventId: string, watermark: string | null): boolean {
  return watermark !== null && eventId.toLowerCase() <= watermark;
}

interface Watermark {
  /** Undefined for completions whose partition is unknown. */
  origin?: Origin;
  ids: readonly string[];
  maxEventId: string;
}

/** The origin all completions share (one object, as a batch from an event's own topic gives them), if they do. */
function commonOrigin(completions: readonly Completion[]): Origin | undefined {
  const origin = completions[0]?.origin;
  return origin && completions.every((completion) => completion.origin === origin) ? origin : undefined;
}

/** The completions' (lowercase) ids and highest id per origin (one entry for those of unknown origin), in one order for every commit. */
function watermarksOf(completions: readonly Completion[], ids: readonly string[]): Watermark[] {
  const origin = commonOrigin(completions);
  if (origin) return [{ origin, ids, maxEventId: spanOf(ids).last }];
  const marks = new Map<string, Watermark & { ids: string[] }>();
  for (const [index, { origin }] of completions.entries()) {
    const eventId = ids[index]!;
    const key = origin ? `${origin.partition}:${origin.topic}` : '';
    const mark = marks.get(key);
    if (!mark) marks.set(key, { origin, ids: [eventId], maxEventId: eventId });
    else {
      mark.ids.push(eventId);
      if (eventId > mark.maxEventId) mark.maxEventId = eventId;
    }
  }
  // In one order for every transaction, so two that lock the same watermarks cannot deadlock.
  return [...marks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, mark]) => mark);
}

/**
 * The lowest and highest of lowercase ids (text orders as uuids do), and
 * whether all are time-ordered. Only those share a set: the ids one commit
 * records were made at about the same time, so their set spans a short
 * range, where other ids (random ones) would each widen it to nearly all
 * uuids and make every lookup check the set.
 */
function spanOf(ids: readonly string[]): { first: string; last: string; timeOrdered: boolean } {
  let first = ids[0]!;
  let last = first;
  let timeOrdered = true;
  for (const id of ids) {
    if (id < first) first = id;
    if (id > last) last = id;
    if (!isTimeOrdered(id)) timeOrdered = false;
  }
  return { first, last, timeOrdered };
}

/** A UUIDv7: the 15th character of a uuid's text is its version. */
const isTimeOrdered = (id: string) => id.charCodeAt(14) === 0x37;

/**
 * Ids travel as one comma-separated text value each way: a uuid[] parameter
 * or one row per id costs the client far more per event than the database's
 * own work (measured with bench/consumer-throughput.ts).
 */
interface IdList {
  ids: string | null;
}

/** The range of order keys a set spans, exactly as its GiST index states it. (`recorded` is the set.) */
const setSpan = `int8range(uuid_order_key(recorded.first_event_id), uuid_order_key(recorded.last_event_id), '[]')`;

/**
 * Whether the group ($1) recorded `wanted.id`: the sets whose span holds it,
 * then the id itself. The group is compared as an expression, which the
 * (consumer_group, last_event_id) index cannot serve: on statistics that do
 * not know how much a group recorded since the last ANALYZE, the planner
 * would read all of the group's sets through it, for every id.
 */
const recordedProbe = (condition = 'TRUE') => `
    SELECT FROM processed_event_sets AS recorded
    WHERE ${condition} AND ${setSpan} @> uuid_order_key(wanted.id) AND recorded.consumer_group || '' = $1 AND wanted.id = ANY(recorded.event_ids)
    LIMIT 1`;

/**
 * One probe of the sets' span index per id: a LATERAL subquery with LIMIT
 * cannot be turned into a join. (Exported for the test of its probes.)
 */
export const processedSql = `
  SELECT string_agg(wanted.id::text, ',') AS ids
  FROM unnest(string_to_array($2, ',')::uuid[]) AS wanted(id)
  CROSS JOIN LATERAL (${recordedProbe()}) AS found`;

/**
 * Where the group's ($1) ids of unknown origin raise a watermark of their
 * own: the highest of them (and of records older than watermarks). It is a
 * partition's watermark until the partition has one, being at least as high
 * as any id recorded from it then: every other commit of its events makes
 * its row.
 */
const UNATTRIBUTED = { topic: '', partition: -1 };
const unattributedWatermarkSql = `(SELECT max_event_id FROM processed_watermarks WHERE consumer_group = $1 AND topic = '${UNATTRIBUTED.topic}' AND partition = ${UNATTRIBUTED.partition})`;

/**
 * As processedSql, without probing for ids above the partition's ($3, $4)
 * watermark, and returning it and its version. (Exported for the test of
 * its probes.)
 */
export const processedFromSql = `
  WITH own AS (SELECT max_event_id, version FROM processed_watermarks WHERE consumer_group = $1 AND topic = $3 AND partition = $4::int),
  mark AS (SELECT coalesce((SELECT max_event_id FROM own), ${unattributedWatermarkSql}) AS watermark, (SELECT version FROM own) AS version)
  SELECT mark.watermark::text AS watermark, mark.version::text AS version, (
    SELECT string_agg(wanted.id::text, ',')
    FROM unnest(string_to_array($2, ',')::uuid[]) AS wanted(id)
    CROSS JOIN LATERAL (${recordedProbe('wanted.id <= mark.watermark')}) AS found
  ) AS ids
  FROM mark`;

/**
 * The hot path: if the partition ($3, $4) is at the version the commit
 * expects ($7), raises its watermark to the highest id ($5) and its version,
 * and records the ids ($2, UUIDv7s spanning $6 to $5) as one set; returns a
 * row only then. A concurrent commit of the partition holds the row's lock
 * until it ends; this statement then sees the version it left.
 */
const recordExpectedSql = `
  WITH mark AS (
    UPDATE processed_watermarks SET max_event_id = greatest(max_event_id, $5::uuid), version = version + 1
    WHERE consumer_group = $1 AND topic = $3 AND partition = $4::int AND version = $7::bigint
    RETURNING 1
  )
  INSERT INTO processed_event_sets (consumer_group, event_ids, first_event_id, last_event_id, time_ordered)
  SELECT $1, string_to_array($2, ',')::uuid[], $6::uuid, $5::uuid, TRUE FROM mark
  RETURNING 1 AS recorded`;

/** Records UUIDv7s ($2, spanning $3 to $4) as one set. */
const insertSetSql = `
  INSERT INTO processed_event_sets (consumer_group, event_ids, first_event_id, last_event_id, time_ordered)
  VALUES ($1, string_to_array($2, ',')::uuid[], $3::uuid, $4::uuid, TRUE)`;

/** Records ids that do not tell their age ($2) as a set each: a point that lookups find exactly. */
const insertAgelessSql = `
  INSERT INTO processed_event_sets (consumer_group, event_ids, first_event_id, last_event_id, time_ordered)
  SELECT $1, ARRAY[id], id, id, FALSE FROM unnest(string_to_array($2, ',')::uuid[]) AS id`;

/** The group's advisory lock, shared by commits of known partitions; a commit raising every watermark takes it alone. (Its key is a hash of the group's name, apart from other advisory locks' keys.) */
const groupLockKey = `hashtextextended('processed_event_sets:' || $1, 0)`;
const shareGroupSql = `SELECT pg_advisory_xact_lock_shared(${groupLockKey})::text`;
const lockGroupSql = `SELECT pg_advisory_xact_lock(${groupLockKey})::text`;

/** A partition's watermark row, made at the watermark it had without one (see UNATTRIBUTED) if it has none. */
const createMarkSql = `
  INSERT INTO processed_watermarks (consumer_group, topic, partition, max_event_id)
  VALUES ($1, $2, $3::int, coalesce(${unattributedWatermarkSql}, '00000000-0000-0000-0000-000000000000'))
  ON CONFLICT DO NOTHING`;

const lockMarkSql = `SELECT max_event_id::text AS watermark FROM processed_watermarks WHERE consumer_group = $1 AND topic = $2 AND partition = $3::int FOR UPDATE`;

const lockEveryMarkSql = `SELECT 1 FROM processed_watermarks WHERE consumer_group = $1 ORDER BY topic, partition FOR UPDATE`;

const raiseMarkSql = `
  UPDATE processed_watermarks SET max_event_id = greatest(max_event_id, $4::uuid), version = version + 1
  WHERE consumer_group = $1 AND topic = $2 AND partition = $3::int`;

/** For ids of unknown origin: every watermark of the group is raised past them, the unattributed one too (so the ones not made yet start above them). */
const raiseEveryMarkSql = `UPDATE processed_watermarks SET max_event_id = greatest(max_event_id, $2::uuid), version = version + 1 WHERE consumer_group = $1`;

/** Deletes up to $3 sets of the group ($1) that hold only UUIDv7s below $2; returns how many sets and records. */
const pruneSql = `
  WITH doomed AS (
    SELECT id FROM processed_event_sets
    WHERE consumer_group = $1 AND last_event_id < $2::uuid AND time_ordered
    LIMIT $3
  ), deleted AS (
    DELETE FROM processed_event_sets AS recorded USING doomed
    WHERE recorded.id = doomed.id
    RETURNING cardinality(recorded.event_ids) AS records
  )
  SELECT count(*)::int AS sets, coalesce(sum(records), 0)::int AS records FROM deleted`;

function parseIdList(row: IdList | undefined): Set<string> {
  return new Set(row?.ids ? row.ids.split(',') : []);
}
