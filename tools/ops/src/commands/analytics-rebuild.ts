import { createLogger } from '@video-pipeline/logging';
import { compareWithLive, discardRebuild, rebuildAnalytics } from '@video-pipeline/analytics/src/rebuild';
import { withDatabase, type OpsContext } from '../context';

/**
 * `ops analytics-rebuild [--keep]`: replays every video event topic from the
 * beginning into a fresh group (its own facts), then compares its numbers
 * with the live `analytics` group's over the same events. Exit 0 when they
 * are identical, 1 when they differ (the differences are listed). The
 * rebuild's facts and Kafka group are removed afterwards unless `--keep`.
 * Needs KAFKA_BROKERS and DATABASE_URL.
 */
export async function rebuildAnalyticsCommand(context: OpsContext, options: { keep: boolean }): Promise<number> {
  const prefix = context.config.kafka.topicPrefix;
  const liveGroupId = `${prefix}analytics`;
  const groupId = `${prefix}analytics.rebuild.${new Date().toISOString().replace(/[-:.]/g, '')}`;
  return withDatabase(context, async (prisma) => {
    context.out.progress(`replaying the video event topics from the beginning into ${groupId} ...`);
    const rebuilt = await rebuildAnalytics({
      kafka: context.kafka,
      prisma,
      logger: createLogger('ops', { level: 'error' }),
      topicPrefix: prefix,
      groupId,
      onProgress: (events) => context.out.progress(`  ${events} events so far`),
    });
    try {
      const comparison = await compareWithLive(prisma, liveGroupId, groupId);
      context.out.result({ ...rebuilt, liveGroupId, identical: comparison.identical, differences: comparison.differences, numbers: comparison.rebuilt }, () =>
        comparison.identical
          ? `${groupId}: replayed ${rebuilt.events} events (${rebuilt.malformed} malformed skipped); the numbers are identical to ${liveGroupId}'s over those events`
          : `${groupId}: replayed ${rebuilt.events} events; the numbers DIFFER from ${liveGroupId}'s (live ≠ rebuilt):\n  ${comparison.differences.join('\n  ')}`,
      );
      return comparison.identical ? 0 : 1;
    } finally {
      if (!options.keep) {
        await discardRebuild(prisma, groupId);
        await context.admin.deleteGroups([groupId]).catch(() => undefined);
      }
    }
  });
}
