import type { z } from 'zod';
import { videoUploadedV1 } from './video-uploaded';

/**
 * Every event type the pipeline publishes: its topic and its payload schema.
 * Adding an event here makes every typed handler map that omits it a compile
 * error, so a new event is never silently ignored.
 */
export const eventCatalog = {
  'video.uploaded': { topic: 'video.uploaded', schemaVersion: 1, schema: videoUploadedV1 },
} as const;

export type EventType = keyof typeof eventCatalog;
export type EventData<T extends EventType> = z.infer<(typeof eventCatalog)[T]['schema']>;

export const eventTypes = Object.keys(eventCatalog) as EventType[];
