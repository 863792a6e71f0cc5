import { KafkaJSError } from 'kafkajs';
import { sqlState } from '@video-pipeline/db';
import { isPipelineError, type ErrorCode } from '@video-pipeline/errors';

export interface FailureVerdict {
  retriable: boolean;
  /** From the closed list in `@video-pipeline/errors`: what metrics, logs and dead letters say the failure was. */
  code: ErrorCode;
  message: string;
}

/**
 * The one place that decides between retry and dead letter, and names the
 * failure with a code of the closed list. Our errors and kafkajs' carry a
 * `retriable` flag. Database errors are judged by their SQLSTATE: bad data
 * (class 22) and broken constraints (class 23) fail the same way every time,
 * so they are dead-lettered at once (`database_rejected`) instead of
 * spending every retry tier first. Anything else unknown is `internal` and
 * assumed transient, so a bug still ends in the dead-letter topic once the
 * retries run out.
 */
export function classifyFailure(error: unknown): FailureVerdict {
  const message = error instanceof Error ? error.message : String(error);
  if (isPipelineError(error)) return { retriable: error.retriable, code: error.code, message };
  if (error instanceof KafkaJSError) return { retriable: error.retriable, code: error.retriable ? 'broker_unavailable' : 'internal', message };
  const state = sqlState(error);
  if (state) {
    const permanent = PERMANENT_SQLSTATE_CLASSES.has(state.slice(0, 2));
    return { retriable: !permanent, code: permanent ? 'database_rejected' : 'internal', message: `${message} (SQLSTATE ${state})` };
  }
  const name = error instanceof Error && error.name !== 'Error' ? `${error.name}: ` : '';
  return { retriable: true, code: 'internal', message: name + message };
}

/** data_exception (invalid input, value too long, ...) and integrity_constraint_violation (unique, foreign key, not null, check). */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '23']);
