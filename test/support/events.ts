import { randomUUID } from 'node:crypto';
import { createEvent, eventTypes, lowestEventIdAt, type CloudEvent, type EventType } from '@video-pipeline/events';

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

/**
 * An event id (UUIDv7) made at `time`, e.g. weeks ago: newEventId() only
 * moves forward within a process, so it cannot make one for the past.
 */
export function eventIdMadeAt(time: number): string {
  const random = randomUUID();
  return `${lowestEventIdAt(new Date(time)).slice(0, 14)}7${random.slice(15, 18)}-8${random.slice(20, 23)}-${random.slice(24)}`;
}

/** Every event type but `video.uploaded`, ignored: spread into the handler map of a test that handles only uploads. */
export const otherEventsIgnored = Object.fromEntries(eventTypes.filter((type) => type !== 'video.uploaded').map((type) => [type, 'ignore'])) as {
  [T in Exclude<EventType, 'video.uploaded'>]: 'ignore';
};
