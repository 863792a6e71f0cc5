import { KafkaJSError } from 'kafkajs';
import { isPipelineError, type ErrorCode } from '@video-pipeline/errors';

export interface FailureVerdict {
  retriable: boolean;
  code: ErrorCode | string;
  message: string;
}

/**
 * The one place that decides between retry and dead letter. Our errors and
 * kafkajs' carry a `retriable` flag; anything unknown is assumed transient,
 * so a bug still ends in the dead-letter topic once the retries run out.
 */
export function classifyFailure(error: unknown): FailureVerdict {
  const message = error instanceof Error ? error.message : String(error);
  if (isPipelineError(error)) return { retriable: error.retriable, code: error.code, message };
  if (error instanceof KafkaJSError) return { retriable: error.retriable, code: 'kafka_error', message };
  return { retriable: true, code: error instanceof Error ? error.name : 'unknown', message };
}
