export { createKafka } from './client';
export { createProducer } from './producer';
export { ensureTopics, type TopicChanges } from './topics';
export { topicSpecs, groupTopics, longestRetentionMs, type TopicSpec } from './topology';
