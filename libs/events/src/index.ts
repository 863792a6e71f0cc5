export { eventCatalog, eventTypes, type EventType, type EventData } from './catalog';
export { createEvent, type CloudEvent, type PipelineEvent } from './envelope';
export { toKafkaRecord, fromKafkaRecord, headerString, CONTENT_TYPE_JSON, type EventRecord, type RawHeaders } from './kafka-binding';
export { videoUploadedV1, type VideoUploadedV1 } from './video-uploaded';
export { isUuid, newEventId } from './ids';
export { consumerGroups, deadLetterTopic, retryTierDelaysMs, retryTopic, type ConsumerGroupName } from './topics';
export { deliveryHeaders, headerNumber, originalHeaders } from './delivery-headers';
