import { PipelineError } from '@video-pipeline/errors';
import { eventCatalog, type EventType } from './catalog';
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

/** A header's first value as text (kafkajs gives a repeated header as an array). */
export function headerString(headers: RawHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return (Array.isArray(value) ? value[0] : value)?.toString();
}

function malformed(message: string, cause?: unknown): PipelineError {
  return new PipelineError('malformed_event', message, { cause });
}

/**
 * Validates a Kafka record as one of our events. Throws `malformed_event`
 * for anything broken (missing headers, bad JSON, data not matching its
 * schema) and `unsupported_event` for a type or schema version this build
 * does not know: both are permanent, so consumers dead-letter them at once.
 */
export function fromKafkaRecord(record: { key?: Buffer | string | null; value: Buffer | string | null; headers?: RawHeaders }): PipelineEvent {
  const header = (name: string) => headerString(record.headers, name);
  const attributes = { ce_specversion: header('ce_specversion'), ce_id: header('ce_id'), ce_type: header('ce_type'), ce_source: header('ce_source'), ce_time: header('ce_time') };
  const { ce_specversion: specversion, ce_id: id, ce_type: typeName, ce_source: source, ce_time: time } = attributes;
  if (!specversion || !id || !typeName || !source || !time) {
    const missing = Object.entries(attributes).filter(([, value]) => !value).map(([name]) => name);
    throw malformed(`missing CloudEvents headers: ${missing.join(', ')}`);
  }
  if (specversion !== '1.0') throw malformed(`unsupported ce_specversion "${specversion}"`);
  const contentType = header('content-type');
  if (contentType !== undefined && !contentType.startsWith(CONTENT_TYPE_JSON)) throw malformed(`content-type must be ${CONTENT_TYPE_JSON}, got "${contentType}"`);
  // Our producers always use UUIDs; consumers key their idempotency records on them.
  if (!isUuid(id)) throw malformed(`ce_id must be a UUID, got "${id}"`);
  if (!isEventType(typeName)) throw new PipelineError('unsupported_event', `unknown event type "${typeName}"`);
  if (Number.isNaN(Date.parse(time))) throw malformed(`ce_time is not a timestamp: "${time}"`);
  if (record.value === null) throw malformed('record has no value');

  let data: unknown;
  try {
    data = JSON.parse(record.value.toString());
  } catch (error) {
    throw malformed(`value is not JSON: ${(error as Error).message}`, error);
  }
  const entry = eventCatalog[typeName];
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== entry.schemaVersion) {
    throw new PipelineError('unsupported_event', `${typeName} schemaVersion ${JSON.stringify(version)} is not supported (expected ${entry.schemaVersion})`);
  }
  const parsed = entry.schema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw malformed(`${typeName} data does not match its schema: ${problems.join('; ')}`);
  }

  return {
    specversion: '1.0',
    id: id.toLowerCase(),
    type: typeName,
    source,
    subject: header('ce_subject') ?? record.key?.toString() ?? '',
    time,
    datacontenttype: CONTENT_TYPE_JSON,
    data: parsed.data,
  } as PipelineEvent; // `type` and `data` were checked together, against the catalogue's schema for that type
}

const isEventType = (name: string): name is EventType => Object.hasOwn(eventCatalog, name);

export type { EventType };
