import type { ErrorRequestHandler, RequestHandler } from 'express';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import { isStorageUnavailable } from '@video-pipeline/storage';
import { readRestAfterAnswer, type DiscardLimits } from './early-answers';

/** Every request no route took: `not_found`. */
export const noSuchRoute: RequestHandler = (req) => {
  throw new PipelineError('not_found', `no route ${req.method} ${req.originalUrl}`);
};

/**
 * The one place errors are answered: each as a code from the closed list,
 * with its status, as `{ error: { code, message, details? }, requestId }`.
 * A refusal given before the body was read still reaches its client (see
 * `readRestAfterAnswer`).
 */
export function answerErrors(discardLimits: DiscardLimits): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const failure = asPipelineError(error);
    res.locals.errorCode = failure.code;
    // The request's log line carries the error and its stack (pino-http reads res.err).
    if (failure.status >= 500) res.err = error instanceof Error ? error : failure;
    if (res.headersSent) {
      // An answer already under way cannot be replaced; cutting it short is the only honest signal left.
      req.socket.destroy();
      return;
    }
    readRestAfterAnswer(req, res, discardLimits);
    const retryAfter = failure.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    res.status(failure.status).json({ ...failure.toJSON(), requestId: req.id });
  };
}

/**
 * Our own errors pass as they are. Storage out of reach, from a call that
 * did not say so itself (tus' store), is `storage_unavailable`. The
 * framework's (a path that is not valid percent-encoding, say) carry a 4xx
 * status and mean a malformed request; anything else is a bug of ours,
 * whose message stays in the log.
 */
export function asPipelineError(error: unknown): PipelineError {
  if (isPipelineError(error)) return error;
  if (isStorageUnavailable(error)) return new PipelineError('storage_unavailable', 'the storage did not answer; try again shortly', { cause: error });
  const status = (error as { status?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = status === 404 ? 'not_found' : status === 413 ? 'body_too_large' : status === 415 ? 'not_json' : 'invalid_request';
    return new PipelineError(code, (error as Error).message, { cause: error, ...whereMalformed(error) });
  }
  return new PipelineError('internal', 'something went wrong on our side', { cause: error });
}

/** Where a request the framework refused went wrong, as `details.in` says it for a schema's refusals. */
function whereMalformed(error: unknown): { details?: { in: 'body' | 'path' } } {
  // body-parser's JSON that does not parse; the router's path parameter that is not valid percent-encoding.
  if ((error as { type?: unknown }).type === 'entity.parse.failed') return { details: { in: 'body' } };
  if (error instanceof URIError) return { details: { in: 'path' } };
  return {};
}
