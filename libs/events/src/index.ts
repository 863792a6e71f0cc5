export { eventCatalog, eventTypes, type EventType, type EventData } from './catalog';
export { createEvent, type CloudEvent, type PipelineEvent } from './envelope';
export { toKafkaRecord, fromKafkaRecord, headerString, CONTENT_TYPE_JSON, type EventRecord, type RawHeaders } from './kafka-binding';
export { videoUploadedV1, type VideoUploadedV1 } from './video-uploaded';
export { videoTranscodedV1, renditionV1, type VideoTranscodedV1, type RenditionV1 } from './video-transcoded';
export { videoThumbnailsGeneratedV1, posterImageV1, type VideoThumbnailsGeneratedV1, type PosterImageV1 } from './video-thumbnails-generated';
export { videoTranscodeFailedV1, videoThumbnailsFailedV1, type VideoTranscodeFailedV1, type VideoThumbnailsFailedV1 } from './media-stage-failed';
export {
  videoStageNameV1,
  moderationReasonV1,
  videoModeratedV1,
  videoReadyV1,
  videoRejectedV1,
  videoFailedV1,
  videoDeletedV1,
  type VideoStageNameV1,
  type ModerationReasonV1,
  type VideoModeratedV1,
  type VideoReadyV1,
  type VideoRejectedV1,
  type VideoFailedV1,
  type VideoDeletedV1,
} from './video-lifecycle';
export { isUuid, newEventId } from './ids';
export { consumerGroups, deadLetterTopic, retryTierDelaysMs, retryTopic, type ConsumerGroupName } from './topics';
export { deliveryHeaders, headerNumber, originalHeaders } from './delivery-headers';
