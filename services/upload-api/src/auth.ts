import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { PipelineError } from '@video-pipeline/errors';
import './http/locals';

/** Who a request acts for: an owner (an `API_KEYS` key) or an admin (an `ADMIN_API_KEYS` key, e.g. a reviewer). */
export type Caller = { kind: 'owner'; ownerId: string } | { kind: 'admin'; adminName: string };

/** Which keys a route takes: none, an owner's, an admin's, or either. */
export type Access = 'public' | 'owner' | 'admin' | 'owner-or-admin';

export interface ApiKeys {
  /** key -> owner id */
  owners: ReadonlyMap<string, string>;
  /** key -> the admin's name */
  admins: ReadonlyMap<string, string>;
}

function sameKey(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * `Authorization: Bearer <key>`, looked up in the owners' and the admins'
 * keys; the caller goes to `res.locals.caller`. A key that is valid but of
 * the wrong kind for the route is `forbidden`, not `unauthorized`: the key
 * is fine, the route is not for it.
 */
export function authenticator(keys: ApiKeys): (access: Exclude<Access, 'public'>) => RequestHandler {
  const entries: [string, Caller][] = [
    ...[...keys.owners].map(([key, ownerId]): [string, Caller] => [key, { kind: 'owner', ownerId }]),
    ...[...keys.admins].map(([key, adminName]): [string, Caller] => [key, { kind: 'admin', adminName }]),
  ];
  const identify = (authorization: string | undefined): Caller => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Compare against every key so timing does not reveal how close a guess was.
    let caller: Caller | undefined;
    for (const [key, keyCaller] of entries) if (match && sameKey(match[1]!, key)) caller = keyCaller;
    if (!caller) throw new PipelineError('unauthorized', match ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
    return caller;
  };
  return (access) =>
    function authenticate(req, res, next) {
      const caller = identify(req.headers.authorization);
      if (access === 'owner' && caller.kind !== 'owner') throw new PipelineError('forbidden', 'this route acts for an owner; an admin key cannot use it');
      if (access === 'admin' && caller.kind !== 'admin') throw new PipelineError('forbidden', 'this route needs an admin key (ADMIN_API_KEYS)');
      res.locals.caller = caller;
      if (caller.kind === 'owner') res.locals.ownerId = caller.ownerId;
      next();
    };
}
