import { consumerGroups, deadLetterTopic, eventCatalog, retryTierDelaysMs, retryTopic, type ConsumerGroupName } from '@video-pipeline/events';

export interface TopicSpec {
  name: string;
  partitions: number;
  /** How long records are kept; -1 keeps them forever. */
  retentionMs: number;
  description: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Every topic the pipeline uses, declared once. Topics are created from this
 * list (`ensureTopics`); brokers never auto-create them.
 */
export const topicSpecs: readonly TopicSpec[] = [
  {
    name: eventCatalog['video.uploaded'].topic,
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    description: 'video.uploaded events (CloudEvents, binary mode), keyed by video id',
  },
  ...(['video.transcoded', 'video.transcode.failed', 'video.thumbnails.generated', 'video.thumbnails.failed', 'video.moderated', 'video.ready', 'video.rejected', 'video.failed', 'video.deleted'] as const).map(
    (type): TopicSpec => ({
      name: eventCatalog[type].topic,
      partitions: 6,
      retentionMs: 7 * DAY_MS,
      description: `${type} events (CloudEvents, binary mode), keyed by video id`,
    }),
  ),
  ...consumerGroups.flatMap((group): TopicSpec[] => [
    ...retryTierDelaysMs.map((delayMs, index) => ({
      name: retryTopic(group, index + 1),
      partitions: 3,
      retentionMs: 7 * DAY_MS,
      description: `${group}: events waiting ${delayMs / 1000}s before retry tier ${index + 1}`,
    })),
    {
      name: deadLetterTopic(group),
      partitions: 1,
      retentionMs: 30 * DAY_MS,
      description: `${group}: events that failed for good, with the error, awaiting replay`,
    },
  ]),
];

/** The topics (unprefixed) a pipeline group consumes: every event topic, and its retry tiers. */
export function groupTopics(group: ConsumerGroupName): { eventTopics: string[]; retryTopics: string[] } {
  return {
    eventTopics: [...new Set(Object.values(eventCatalog).map((entry) => entry.topic))],
    retryTopics: retryTierDelaysMs.map((_, index) => retryTopic(group, index + 1)),
  };
}

/**
 * The longest time a topic that brings events to `group` keeps them: its
 * events' topics (an offset reset), its retry tiers, and its dead-letter
 * topic (a replay). Infinity if one keeps them for ever.
 */
export function longestRetentionMs(group: ConsumerGroupName): number {
  const { eventTopics, retryTopics } = groupTopics(group);
  const read = new Set([...eventTopics, ...retryTopics, deadLetterTopic(group)]);
  return Math.max(...topicSpecs.filter((spec) => read.has(spec.name)).map((spec) => (spec.retentionMs < 0 ? Infinity : spec.retentionMs)));
}
