import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '@video-pipeline/logging';
import './locals';

/** A client's own request id is used when it is short and plain enough to log and echo safely. */
const USABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Gives each request an id, echoed as `X-Request-Id` and carried by every
 * line logged through `req.log`, and logs one line per request when it is
 * answered: `POST /v1/videos 201`, with the time taken, the owner and the
 * error code. Routes that ask for it (probes) log at debug; errors of ours
 * at error, with their stack.
 */
export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    quietResLogger: true,
    genReqId: (req, res) => {
      const sent = req.headers['x-request-id'];
      const id = typeof sent === 'string' && USABLE_REQUEST_ID.test(sent) ? sent : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, error) => (error || res.err ? 'error' : (locals(res).logLevel ?? 'info')),
    customSuccessMessage: (req, res) => summary(req, res),
    customErrorMessage: (req, res) => summary(req, res),
    customSuccessObject: (_req, res, fields: { responseTime: number }) => facts(res, fields),
    customErrorObject: (_req, res, error, fields: { responseTime: number }) => ({ ...facts(res, fields), err: error }),
  });
}

function summary(req: IncomingMessage, res: ServerResponse): string {
  const { method, originalUrl } = req as Request;
  return res.writableFinished ? `${method} ${originalUrl} ${res.statusCode}` : `${method} ${originalUrl}: the client went away before the answer`;
}

function facts(res: ServerResponse, fields: { responseTime: number }) {
  const { ownerId, errorCode } = locals(res);
  return { ms: fields.responseTime, ...(ownerId && { owner: ownerId }), ...(errorCode && { code: errorCode }) };
}

function locals(res: ServerResponse): Response['locals'] {
  return (res as Response).locals ?? {};
}
