export { createKafka } from './client';
export { createProducer } from './producer';
export { ensureTopics, type TopicChanges } from './topics';
export { topicSpecs, consumerGroups, retryTopic, deadLetterTopic, retryTierDelaysMs, groupTopics, longestRetentionMs, type TopicSpec, type ConsumerGroupName } from './topology';
