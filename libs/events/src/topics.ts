/**
 * The names consumer teams build on, beside the event schemas: the consumer
 * groups, and the topics the runtime moves a group's failing events to.
 * Partitions and retention are the topology's (`@video-pipeline/kafka`).
 */

/** The pipeline's consumer groups; each is a service under `services/`, and each group id is the name (prefixed). */
export const consumerGroups = ['transcoder', 'thumbnailer', 'moderation', 'analytics', 'notifications'] as const;
export type ConsumerGroupName = (typeof consumerGroups)[number];

/**
 * How long each of a group's retry tiers holds an event before it runs
 * again, in order: tier n is the topic `<group>.retry.<n>`.
 */
export const retryTierDelaysMs = [5_000, 60_000, 10 * 60_000] as const;

/** Tier `tier` (1-based) of a group's retries. */
export const retryTopic = (group: string, tier: number) => `${group}.retry.${tier}`;

/** Where a group parks the events it gave up on, with why (see `deliveryHeaders`). */
export const deadLetterTopic = (group: string) => `${group}.dlq`;
