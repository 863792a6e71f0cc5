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
 * errors (plain SQL) carry it as `code` beside a `severity`;
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

/**
 * Whether an error from a database call says the database could not be
 * reached or dropped the connection, rather than refusing the statement:
 * a moment's outage, worth a 503 and a retry, not a bug. Covers Postgres'
 * connection and shutdown SQLSTATEs, Prisma's "can't reach" codes and its
 * adapter's socket failures, and pg's own connection errors (which carry
 * only a message, or a Node socket code that errors from anything else on
 * the network carry too: hence "from a database call").
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state) return state.startsWith('08') || UNAVAILABLE_SQLSTATES.has(state);
  if (UNREACHABLE_ADAPTER_KINDS.has(driverAdapterErrorKind(error) ?? '')) return true;
  const code = errorCode(error);
  if (code) return UNREACHABLE_CODES.has(code);
  const message = typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : '';
  return PG_CONNECTION_ERRORS.test(message);
}

/** too_many_connections, admin_shutdown, crash_shutdown, cannot_connect_now (starting up, shutting down). Class 08 is connection_exception. */
const UNAVAILABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);

/** Prisma's P1001 (can't reach), P1002 (timed out), P1017 (closed the connection), P2024 (no pool connection in time); Node's socket errors. */
const UNREACHABLE_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * What Prisma's pg adapter calls a socket that failed: a raw query reports it
 * under a generic code (P2010), naming only this kind.
 */
const UNREACHABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

function driverAdapterErrorKind(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const kind = (error as { meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } }).meta?.driverAdapterError?.cause?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** pg's errors for a connection that timed out, broke, or never came from a busy pool. */
const PG_CONNECTION_ERRORS = /^(Connection terminated\b|timeout exceeded when trying to connect$|Client has encountered a connection error and is not queryable$)/;
