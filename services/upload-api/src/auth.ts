import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { PipelineError } from '@video-pipeline/errors';
import './http/locals';

function sameKey(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `Authorization: Bearer <key>`, looked up in the configured key -> owner map; the owner goes to `res.locals.ownerId`. */
export function authenticator(apiKeys: ReadonlyMap<string, string>): RequestHandler {
  const entries = [...apiKeys];
  return function authenticate(req, res, next) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    // Compare against every key so timing does not reveal how close a guess was.
    let owner: string | undefined;
    for (const [key, keyOwner] of entries) if (match && sameKey(match[1]!, key)) owner = keyOwner;
    if (!owner) {
      throw new PipelineError('unauthorized', match ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
    }
    res.locals.ownerId = owner;
    next();
  };
}
