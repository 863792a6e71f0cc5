/**
 * The `code` of a Node or pg error. Duck-typed rather than `instanceof Error`: in jest's
 * sandbox, errors from Node's core modules and from jest itself come from another realm.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of a unique violation, the one callers most often expect and handle. */
export const UNIQUE_VIOLATION = '23505';

/**
 * The SQLSTATE of a Postgres error (`23505` for a unique violation): pg's own
 * errors (plain SQL, queryRows) carry it as `code` beside a `severity`;
 * Prisma's carry it from the driver adapter. Undefined for anything else,
 * including Node's errors, whose codes (`EPIPE`) can look alike.
 */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, severity, meta } = error as { code?: unknown; severity?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } };
  const candidate = typeof severity === 'string' ? code : meta?.driverAdapterError?.cause?.originalCode;
  return typeof candidate === 'string' && SQLSTATE.test(candidate) ? candidate : undefined;
}

/**
 * Whether a Prisma interactive transaction ran past its `timeout`, or could
 * not start within its `maxWait` (Prisma's P2028 either way).
 */
export function isTransactionTimeout(error: unknown): boolean {
  return errorCode(error) === 'P2028';
}
