import { KafkaJSError } from 'kafkajs';
import { sqlState } from '@video-pipeline/db';
import { isPipelineError, type ErrorCode } from '@video-pipeline/errors';

export interface FailureVerdict {
  retriable: boolean;
  code: ErrorCode | string;
  message: string;
}

/**
 * The one place that decides between retry and dead letter. Our errors and
 * kafkajs' carry a `retriable` flag. Database errors are judged by their
 * SQLSTATE: bad data (class 22) and broken constraints (class 23) fail the
 * same way every time, so they are dead-lettered at once instead of spending
 * every retry tier first. Anything else unknown is assumed transient, so a
 * bug still ends in the dead-letter topic once the retries run out.
 */
export function classifyFailure(error: unknown): FailureVerdict {
  const message = error instanceof Error ? error.message : String(error);
  if (isPipelineError(error)) return { retriable: error.retriable, code: error.code, message };
  if (error instanceof KafkaJSError) return { retriable: error.retriable, code: 'kafka_error', message };
  const state = sqlState(error);
  if (state) return { retriable: !PERMANENT_SQLSTATE_CLASSES.has(state.slice(0, 2)), code: `sqlstate_${state}`, message };
  return { retriable: true, code: error instanceof Error ? error.name : 'unknown', message };
}

/** data_exception (invalid input, value too long, ...) and integrity_constraint_violation (unique, foreign key, not null, check). */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '23']);
