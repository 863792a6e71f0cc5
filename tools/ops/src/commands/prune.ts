import { deadLetterTopic, topicSpecs, type ConsumerGroupName } from '@video-pipeline/kafka';
import { groupTopology, parseGroup, RefusedError, UsageError, withIdempotencyStore, type OpsContext } from '../context';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Days past the longest retention that records are kept by default: room for a replay started just before a dead letter expires. */
const DEFAULT_MARGIN_DAYS = 5;

/**
 * `ops prune <group> [--older-than DAYS]`: deletes the group's idempotency
 * records (`processed_event_sets`) of events made more than DAYS ago, which
 * otherwise grow by one row per commit for ever. An event comes back to a
 * group from its dead-letter topic (a replay) or its source topics (an
 * offset reset) for as long as they keep it, so the records must outlive
 * that: fewer days than the longest retention are refused, and the default
 * adds a few days to it. Reads and writes Postgres only (DATABASE_URL).
 */
export async function pruneProcessed(context: Pick<OpsContext, 'config' | 'out'>, name: string | undefined, options: { olderThan?: string } = {}): Promise<void> {
  const group = parseGroup(name);
  const keptDays = longestRetentionDays(context, group);
  if (!Number.isFinite(keptDays)) throw new RefusedError(`refusing to prune ${group}'s records: one of its topics keeps events for ever`);
  const days = options.olderThan === undefined ? keptDays + DEFAULT_MARGIN_DAYS : parseDays(options.olderThan);
  if (days < keptDays) {
    throw new RefusedError(
      `refusing to prune ${group}'s records younger than ${keptDays} days: its topics keep events that long, and a replay or an offset reset would run them again`,
    );
  }

  const madeBefore = new Date(Date.now() - days * DAY_MS);
  context.out.progress(`${group}: deleting the records of events made before ${madeBefore.toISOString()} ...`);
  const deleted = await withIdempotencyStore(context, groupTopology(context, group).groupId, (store) =>
    store.prune(madeBefore, { onProgress: (soFar) => context.out.progress(`  ${soFar} deleted so far`) }),
  );
  context.out.result({ group, olderThanDays: days, madeBefore: madeBefore.toISOString(), deleted }, () => `${group}: deleted ${deleted} record(s) of events made before ${madeBefore.toISOString()}`);
}

/** The longest time, in whole days, that a topic the group reads (or replays from) keeps an event; Infinity if one keeps them for ever. */
function longestRetentionDays(context: Pick<OpsContext, 'config'>, group: ConsumerGroupName): number {
  const prefix = context.config.kafka.topicPrefix;
  const read = new Set([...groupTopology(context, group).topics, prefix + deadLetterTopic(group)]);
  const retentions = topicSpecs.filter((spec) => read.has(prefix + spec.name)).map((spec) => (spec.retentionMs < 0 ? Infinity : spec.retentionMs));
  return Math.ceil(Math.max(...retentions) / DAY_MS);
}

function parseDays(raw: string): number {
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1) throw new UsageError('--older-than takes a whole number of days, e.g. --older-than 35');
  return days;
}
