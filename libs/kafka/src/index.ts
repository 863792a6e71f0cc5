export { createKafka } from './client';
export { ensureTopics, type TopicChanges } from './topics';
export { topicSpecs, consumerGroups, retryTopic, deadLetterTopic, retryTierDelaysMs, type TopicSpec, type ConsumerGroupName } from './topology';
