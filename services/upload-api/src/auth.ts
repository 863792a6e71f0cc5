import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { PipelineError } from '@video-pipeline/errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** The owner the request's API key belongs to; set by `authenticate`. */
    ownerId: string;
  }
}

function sameKey(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `Authorization: Bearer <key>`, looked up in the configured key -> owner map. */
export function authenticator(apiKeys: ReadonlyMap<string, string>) {
  const entries = [...apiKeys];
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    // Compare against every key so timing does not reveal how close a guess was.
    let owner: string | undefined;
    for (const [key, keyOwner] of entries) if (match && sameKey(match[1]!, key)) owner = keyOwner;
    if (!owner) {
      throw new PipelineError('unauthorized', match ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
    }
    request.ownerId = owner;
  };
}
