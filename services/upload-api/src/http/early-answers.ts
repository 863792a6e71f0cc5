import type { Request, RequestHandler, Response } from 'express';

/**
 * How much of a request's unread body is read and thrown away after an
 * early answer, and for how long, before the connection is cut.
 */
export interface DiscardLimits {
  bytes: number;
  ms: number;
}

export const DEFAULT_DISCARD_LIMITS: DiscardLimits = { bytes: 64 * 1024 * 1024, ms: 30_000 };

/**
 * `Expect: 100-continue` clients have not sent their body yet: they get
 * `Connection: close` on any answer unless the handler asked for the body
 * (`askForBody`), so that nothing of it is left to read.
 */
export const expectContinue: RequestHandler = (req, res, next) => {
  if (expectsContinue(req)) res.setHeader('connection', 'close');
  next();
};

/**
 * Lets the client read an answer given before its body was read (a refusal:
 * no API key, too large, not a video); call it right before answering.
 *
 * Closing the connection at once would lose the answer: the client is still
 * sending, the unread bytes make the kernel reset the connection, and most
 * clients (Node's fetch among them) then report a network error instead of
 * the answer. So the rest of the body is read and thrown away, up to
 * `limits`, and the connection stays usable if the body ends within them;
 * past them it is cut. Most clients stop sending once they have the answer,
 * long before that.
 */
export function readRestAfterAnswer(req: Request, res: Response, limits: DiscardLimits): void {
  if (req.complete || req.socket.destroyed || (expectsContinue(req) && !res.locals.bodyRequested)) return;
  // Started before answering: once answered, Node would throw the bytes away unseen, with no bound.
  discardRest(req, limits);
}

/** Called by a handler before it reads the body: sends `100 Continue` to a client that waits for it. */
export function askForBody(req: Request, res: Response): void {
  if (res.locals.bodyRequested) return;
  res.locals.bodyRequested = true;
  if (!expectsContinue(req)) return;
  res.removeHeader('connection');
  res.writeContinue();
}

function expectsContinue(req: Request): boolean {
  return req.headers.expect?.toLowerCase() === '100-continue';
}

function discardRest(req: Request, limits: DiscardLimits): void {
  const { socket } = req;
  let discarded = 0;
  const cut = () => socket.destroy();
  const timer = setTimeout(cut, limits.ms);
  // Once answered, the request no longer hears of its connection closing: the socket says when the client went away.
  const stop = () => {
    clearTimeout(timer);
    socket.off('close', stop);
  };
  socket.once('close', stop);
  req.once('end', stop);
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limits.bytes) cut();
  });
  req.resume();
}
