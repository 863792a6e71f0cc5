import { daysAgo, defaultRecordsKeptDays, recordsNeededDays } from '@video-pipeline/consumer';
import { groupTopology, parseGroup, RefusedError, UsageError, withProcessedEvents, type OpsContext } from '../context';

/**
 * `ops prune <group> [--older-than DAYS]`: deletes the group's idempotency
 * records (`processed_events`) of events processed more than DAYS ago, which
 * otherwise grow by one row per event for ever. An event comes back to a
 * group from its dead-letter topic (a replay) or its source topics (an
 * offset reset) for as long as they keep it, so the records must outlive
 * that: fewer days than the longest retention are refused, and the default
 * adds a few days to it. Reads and writes Postgres only (DATABASE_URL).
 */
export async function pruneProcessed(context: Pick<OpsContext, 'config' | 'out'>, name: string | undefined, options: { olderThan?: string } = {}): Promise<void> {
  const group = parseGroup(name);
  const keptDays = recordsNeededDays(group);
  if (!Number.isFinite(keptDays)) throw new RefusedError(`refusing to prune ${group}'s records: one of its topics keeps events for ever`);
  const days = options.olderThan === undefined ? defaultRecordsKeptDays(group) : parseDays(options.olderThan);
  if (days < keptDays) {
    throw new RefusedError(
      `refusing to prune ${group}'s records younger than ${keptDays} days: its topics keep events that long, and a replay or an offset reset would run them again`,
    );
  }

  const processedBefore = daysAgo(days, Date.now());
  context.out.progress(`${group}: deleting the records of events processed before ${processedBefore.toISOString()} ...`);
  const deleted = await withProcessedEvents(context, groupTopology(context, group).groupId, (records) =>
    records.prune(processedBefore, { onProgress: (soFar) => context.out.progress(`  ${soFar} deleted so far`) }),
  );
  context.out.result({ group, olderThanDays: days, processedBefore: processedBefore.toISOString(), deleted }, () => `${group}: deleted ${deleted} record(s) of events processed before ${processedBefore.toISOString()}`);
}

function parseDays(raw: string): number {
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1) throw new UsageError('--older-than takes a whole number of days, e.g. --older-than 35');
  return days;
}
