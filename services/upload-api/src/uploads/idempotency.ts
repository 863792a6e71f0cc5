import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { isDatabaseUnavailable, Prisma, type PrismaClient } from '@video-pipeline/db';
import { z } from 'zod';
import { PipelineError } from '@video-pipeline/errors';

/** How long a key and its answer are kept: a retry within a day gets the original answer. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A first request that has run this long without finishing is taken to have died with its process; its key may be used again. */
export const IDEMPOTENCY_STALE_MS = 15 * 60 * 1000;
/** How long a retry that finds the first request still running is told to wait. */
const IN_PROGRESS_RETRY_SECONDS = 2;

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** An answer as a route returns it. */
export interface StoredAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export type Claim = { kind: 'first' } | { kind: 'done'; fingerprint: string | null; answer: StoredAnswer };

/** SHA-256 over the parts that identify a request. */
export function fingerprintOf(...parts: (string | null | undefined)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part === null || part === undefined ? '\u0000' : part}\u0001`);
  return hash.digest('hex');
}

const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
const idempotencyKeyRefusal = `${IDEMPOTENCY_HEADER} must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters`;

/** The header as routes that take it declare it (`headers` of a route): checked by the router and documented. */
export const idempotencyKeyHeader = z.object({
  [IDEMPOTENCY_HEADER]: z
    .string()
    .min(1, { error: idempotencyKeyRefusal })
    .max(IDEMPOTENCY_KEY_MAX_LENGTH, { error: idempotencyKeyRefusal })
    .regex(/^[\x21-\x7e]+$/, { error: idempotencyKeyRefusal })
    .optional()
    .meta({
      description:
        `optional; 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters (\`!\` to \`~\`, no spaces), chosen by the client, unique per operation. ` +
        'A retry with the same key and the same request within a day gets the first answer again and does nothing more; ' +
        'the same key with another request is refused (`idempotency_key_reused`), and one while the first still runs is told to retry (`idempotency_in_progress`)',
      example: '4f1c2a9e-upload-holidays',
    }),
});

/** The request's `Idempotency-Key`, if it sent one (1–255 visible ASCII characters). */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  const parsed = idempotencyKeyHeader.shape[IDEMPOTENCY_HEADER].safeParse(key);
  if (!parsed.success || parsed.data === undefined) {
    throw new PipelineError('invalid_request', idempotencyKeyRefusal, { details: { in: 'header', parameter: IDEMPOTENCY_HEADER } });
  }
  return parsed.data;
}

/**
 * Idempotency keys, scoped to their owner: the first request with a key
 * claims it (a row, written before its work starts), and its answer is kept
 * for a day. A retry with the same request gets that answer again; one with
 * another request, or another route, is refused (`idempotency_key_reused`);
 * one while the first still runs is told to come back (`idempotency_in_progress`).
 */
export class IdempotencyKeys {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async begin(ownerId: string, key: string, operation: string, fingerprint?: string): Promise<Claim> {
    const now = this.clock();
    try {
      // An expired key, or a first request that died long ago, no longer holds the key.
      await this.prisma.idempotencyKey.deleteMany({
        where: {
          ownerId,
          key,
          OR: [{ expiresAt: { lte: now } }, { status: null, createdAt: { lte: new Date(now.getTime() - IDEMPOTENCY_STALE_MS) } }],
        },
      });
      const inserted = await this.prisma.$executeRaw`
        INSERT INTO idempotency_keys (owner_id, key, operation, fingerprint, created_at, expires_at)
        VALUES (${ownerId}, ${key}, ${operation}, ${fingerprint ?? null}, ${now}, ${new Date(now.getTime() + IDEMPOTENCY_TTL_MS)})
        ON CONFLICT (owner_id, key) DO NOTHING`;
      if (inserted === 1) return { kind: 'first' };
      const earlier = await this.prisma.idempotencyKey.findUnique({ where: { ownerId_key: { ownerId, key } } });
      if (!earlier) return this.begin(ownerId, key, operation, fingerprint);
      if (earlier.operation !== operation || (fingerprint && earlier.fingerprint && earlier.fingerprint !== fingerprint)) throw reused(key);
      if (earlier.status === null) {
        throw new PipelineError('idempotency_in_progress', `the first request with this ${IDEMPOTENCY_HEADER} is still running; retry shortly`, {
          details: { retryAfterSeconds: IN_PROGRESS_RETRY_SECONDS },
        });
      }
      return {
        kind: 'done',
        fingerprint: earlier.fingerprint,
        answer: { status: earlier.status, headers: (earlier.headers ?? undefined) as Record<string, string> | undefined, body: earlier.body ?? undefined },
      };
    } catch (error) {
      throw asOutage(error);
    }
  }

  /** Keeps the first request's answer for its retries. */
  async finish(ownerId: string, key: string, fingerprint: string, answer: StoredAnswer): Promise<void> {
    await this.prisma.idempotencyKey
      .update({
        where: { ownerId_key: { ownerId, key } },
        data: {
          fingerprint,
          status: answer.status,
          headers: answer.headers ?? Prisma.DbNull,
          body: answer.body === undefined ? Prisma.DbNull : (JSON.parse(JSON.stringify(answer.body)) as Prisma.InputJsonValue),
          finishedAt: this.clock(),
        },
      })
      .catch((error: unknown) => {
        throw asOutage(error);
      });
  }

  /** The first request failed: nothing was made, so the key is free for a retry. */
  async release(ownerId: string, key: string): Promise<void> {
    await this.prisma.idempotencyKey.deleteMany({ where: { ownerId, key, status: null } });
  }

  /** Removes keys past their day; returns how many went. */
  async pruneExpired(): Promise<number> {
    return (await this.prisma.idempotencyKey.deleteMany({ where: { expiresAt: { lte: this.clock() } } })).count;
  }
}

export function reused(key: string): PipelineError {
  return new PipelineError('idempotency_key_reused', `the ${IDEMPOTENCY_HEADER} "${key}" was used with another request; use a new key for a new request`);
}

function asOutage(error: unknown): unknown {
  if (isDatabaseUnavailable(error)) return new PipelineError('database_unavailable', 'the database is unavailable; try again shortly', { cause: error });
  return error;
}

/**
 * Runs a JSON route's work under the request's Idempotency-Key, if it sent
 * one: the fingerprint (of the route's input) tells a retry from another
 * request under the same key; a retry gets the first answer, marked replayed.
 */
export async function withIdempotency<A extends StoredAnswer>(
  keys: IdempotencyKeys,
  call: { req: Request; ownerId: string; operation: string; fingerprint: string },
  run: () => Promise<A>,
): Promise<A> {
  const key = idempotencyKeyOf(call.req);
  if (!key) return run();
  const claim = await keys.begin(call.ownerId, key, call.operation, call.fingerprint);
  if (claim.kind === 'done') return { ...claim.answer, headers: { ...claim.answer.headers, [REPLAYED_HEADER]: 'true' } } as unknown as A;
  try {
    const answer = await run();
    await keys.finish(call.ownerId, key, call.fingerprint, answer);
    return answer;
  } catch (error) {
    await keys.release(call.ownerId, key).catch(() => undefined);
    throw error;
  }
}
