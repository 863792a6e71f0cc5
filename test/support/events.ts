import { randomUUID } from 'node:crypto';
import { createEvent, eventTypes, type CloudEvent, type EventType } from '@video-pipeline/events';

/** A valid `video.uploaded` event for a fresh video (or the given one), as the upload API would write it. */
export function sampleVideoUploaded(fields: { videoId?: string; id?: string; source?: string } = {}): CloudEvent<'video.uploaded'> {
  const videoId = fields.videoId ?? randomUUID();
  return createEvent('video.uploaded', {
    id: fields.id,
    source: fields.source ?? '/video-pipeline/test',
    subject: videoId,
    data: {
      schemaVersion: 1,
      videoId,
      ownerId: 'alice',
      title: null,
      object: { bucket: 'videos', key: `videos/${videoId}/original`, sizeBytes: 1_048_576, sha256: 'a'.repeat(64), contentType: 'video/mp4' },
      uploadedAt: new Date().toISOString(),
    },
  });
}

/** Every event type but `video.uploaded`, ignored: spread into the handler map of a test that handles only uploads. */
export const otherEventsIgnored = Object.fromEntries(eventTypes.filter((type) => type !== 'video.uploaded').map((type) => [type, 'ignore'])) as {
  [T in Exclude<EventType, 'video.uploaded'>]: 'ignore';
};
