import { eventCatalog, type EventData, type EventType } from './catalog';
import { newEventId } from './ids';

/** CloudEvents 1.0 attributes plus typed data. */
export interface CloudEvent<T extends EventType = EventType> {
  specversion: '1.0';
  id: string;
  type: T;
  source: string;
  /** The entity the event is about; for video events, the video id. */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: EventData<T>;
}

/** One of the pipeline's events, discriminated by `type`. */
export type PipelineEvent = { [T in EventType]: CloudEvent<T> }[EventType];

/**
 * Builds an event, validating its data against the catalogue so nothing
 * malformed is ever written to the outbox.
 */
export function createEvent<T extends EventType>(
  type: T,
  fields: { source: string; subject: string; data: EventData<T>; id?: string; time?: Date },
): CloudEvent<T> {
  const data = eventCatalog[type].schema.parse(fields.data) as EventData<T>;
  return {
    specversion: '1.0',
    id: fields.id ?? newEventId(),
    type,
    source: fields.source,
    subject: fields.subject,
    time: (fields.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}
