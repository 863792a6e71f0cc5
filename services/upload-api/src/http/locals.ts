import type { ErrorCode } from '@video-pipeline/errors';
import type { Caller } from '../auth';

/** What this API's middleware and handlers tell each other about a request, in express' `res.locals`. */
declare global {
  namespace Express {
    interface Locals {
      /** Who the request's API key belongs to; set by the auth middleware on routes that need a key. */
      caller?: Caller;
      /** The owner of the request's API key, when it is an owner's; for the request's log line. */
      ownerId?: string;
      /** The code of the error answered, for the request's log line. */
      errorCode?: ErrorCode;
      /** The level of the request's log line, when the route asks for another than info. */
      logLevel?: 'debug';
      /** Whether the handler has started reading the body (see `askForBody`). */
      bodyRequested?: boolean;
    }
  }
}
