export { eventCatalog, eventTypes, type EventType, type EventData } from './catalog';
export { createEvent, type CloudEvent, type PipelineEvent } from './envelope';
export { toKafkaRecord, fromKafkaRecord, headerString, CONTENT_TYPE_JSON, type EventRecord, type RawHeaders } from './kafka-binding';
export { videoUploadedV1, type VideoUploadedV1 } from './video-uploaded';
export { videoTranscodedV1, renditionV1, type VideoTranscodedV1, type RenditionV1 } from './video-transcoded';
export { videoThumbnailsGeneratedV1, posterImageV1, type VideoThumbnailsGeneratedV1, type PosterImageV1 } from './video-thumbnails-generated';
export { videoTranscodeFailedV1, videoThumbnailsFailedV1, type VideoTranscodeFailedV1, type VideoThumbnailsFailedV1 } from './media-stage-failed';
export { isUuid, lowestEventIdAt, newEventId } from './ids';
export { fixedWidthRegExpEngine } from './fixed-width-pattern';
