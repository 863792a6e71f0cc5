import { PipelineError } from '@video-pipeline/errors';
import { eventCatalog, eventTypes, type EventData, type EventType } from './catalog';
import { dataValidator, type DataValidator } from './data-validator';
import { isUuid } from './ids';
import type { CloudEvent, PipelineEvent } from './envelope';

/**
 * The CloudEvents Kafka protocol binding, binary content mode: attributes
 * travel as `ce_*` headers, the data is the record value, and the record key
 * is the subject so one video's events share a partition and stay in order.
 */
export interface EventRecord {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export const CONTENT_TYPE_JSON = 'application/json';

export function toKafkaRecord(event: CloudEvent, topicPrefix = ''): EventRecord {
  return {
    topic: topicPrefix + eventCatalog[event.type].topic,
    key: event.subject,
    value: JSON.stringify(event.data),
    headers: {
      ce_specversion: event.specversion,
      ce_id: event.id,
      ce_type: event.type,
      ce_source: event.source,
      ce_subject: event.subject,
      ce_time: event.time,
      'content-type': CONTENT_TYPE_JSON,
    },
  };
}

export type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

type RawHeader = Buffer | string;

function rawHeader(headers: RawHeaders, name: string): RawHeader | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A header's first value as text (kafkajs gives a repeated header as an array). */
export function headerString(headers: RawHeaders | undefined, name: string): string | undefined {
  return headers === undefined ? undefined : rawHeader(headers, name)?.toString();
}

/**
 * Whether a header starts with an ASCII text, compared without decoding it:
 * decoding a short header costs about ten times this, and the constant
 * headers and the event type are checked on every record a consumer reads.
 */
function startsWithAscii(value: RawHeader, text: string): boolean {
  if (typeof value === 'string') return value.startsWith(text);
  if (value.length < text.length) return false;
  for (let index = 0; index < text.length; index++) if (value[index] !== text.charCodeAt(index)) return false;
  return true;
}

/** Whether a header is exactly an ASCII text, compared as startsWithAscii compares. */
function equalsAscii(value: RawHeader, text: string): boolean {
  return value.length === text.length && startsWithAscii(value, text);
}

function malformed(message: string): PipelineError {
  return new PipelineError('malformed_event', message);
}

/**
 * Validates a Kafka record as one of our events. Throws `malformed_event`
 * for anything broken (missing headers, bad JSON, data not matching its
 * schema) and `unsupported_event` for a type or schema version this build
 * does not know: both are permanent, so consumers dead-letter them at once.
 */
export function fromKafkaRecord(record: { key?: Buffer | string | null; value: Buffer | string | null; headers?: RawHeaders }): PipelineEvent {
  // Each header is decoded once at most: this runs for every record every consumer reads.
  const headers = record.headers ?? {};
  const attributes = {
    ce_specversion: rawHeader(headers, 'ce_specversion'),
    ce_id: headerString(headers, 'ce_id'),
    ce_type: rawHeader(headers, 'ce_type'),
    ce_source: headerString(headers, 'ce_source'),
    ce_time: headerString(headers, 'ce_time'),
  };
  const { ce_specversion: specversion, ce_id: id, ce_type: typeName, ce_source: source, ce_time: time } = attributes;
  if (!specversion?.length || !id || !typeName?.length || !source || !time) {
    const missing = Object.entries(attributes).filter(([, value]) => !value?.length).map(([name]) => name);
    throw malformed(`missing CloudEvents headers: ${missing.join(', ')}`);
  }

  if (!equalsAscii(specversion, '1.0')) throw malformed(`unsupported ce_specversion "${specversion.toString()}"`);
  const contentType = rawHeader(headers, 'content-type');
  if (contentType !== undefined && !startsWithAscii(contentType, CONTENT_TYPE_JSON)) {
    throw malformed(`content-type must be ${CONTENT_TYPE_JSON}, got "${contentType.toString()}"`);
  }
  // Our producers always use UUIDs; consumers key their idempotency records on them.
  if (!isUuid(id)) throw malformed(`ce_id must be a UUID, got "${id}"`);
  const type = eventTypes.find((known) => equalsAscii(typeName, known));
  if (!type) throw new PipelineError('unsupported_event', `unknown event type "${typeName.toString()}"`);
  if (Number.isNaN(Date.parse(time))) throw malformed(`ce_time is not a timestamp: "${time}"`);
  if (record.value === null) throw malformed('record has no value');

  let data: unknown;
  try {
    data = JSON.parse(record.value.toString());
  } catch (error) {
    throw new PipelineError('malformed_event', `value is not JSON: ${(error as Error).message}`, { cause: error });
  }

  const entry = eventCatalog[type];
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== entry.schemaVersion) {
    throw new PipelineError('unsupported_event', `${type} schemaVersion ${JSON.stringify(version)} is not supported (expected ${entry.schemaVersion})`);
  }
  const parsed = validatorOf(type)(data);
  if (!parsed.success) throw malformed(`${type} data does not match its schema: ${parsed.problems.join('; ')}`);

  return {
    specversion: '1.0',
    id: id.toLowerCase(),
    type,
    source,
    subject: headerString(headers, 'ce_subject') ?? record.key?.toString() ?? '',
    time,
    datacontenttype: CONTENT_TYPE_JSON,
    data: parsed.data,
  } as PipelineEvent; // `type` and `data` were checked together, against the catalogue's schema for that type
}

const validators = new Map<EventType, DataValidator<EventData<EventType>>>();

/** Each type's validator, compiled on first use: producers never need one. */
function validatorOf(type: EventType): DataValidator<EventData<EventType>> {
  let validator = validators.get(type);
  if (!validator) {
    validator = dataValidator(eventCatalog[type].schema);
    validators.set(type, validator);
  }
  return validator;
}

export type { EventType };
