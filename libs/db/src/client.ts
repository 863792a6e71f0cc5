// The generated Prisma client, connected through @prisma/adapter-pg (Prisma 7 has no
// built-in driver: the adapter's pg.Pool does the I/O).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { connectionOptions } from './connection';
import { PrismaClient } from './generated/client';
import { serializeQueries } from './serial-queries';

export interface CreatePrismaClientOptions {
  /** postgresql:// URL of the application database. */
  databaseUrl: string;
  /** Upper bound of the pg pool; defaults to pg's 10. */
  poolMax?: number;
  /**
   * How long a query may wait for a connection: for a new one to open, or
   * for a busy pool to free one. Default 10 s, so that an unreachable
   * database fails requests fast instead of after TCP's own timeout
   * (minutes). The URL's `connect_timeout` (seconds, as libpq reads it)
   * takes precedence.
   */
  connectTimeoutMs?: number;
  /**
   * Postgres' `lock_timeout` for the pool's sessions: how long a statement
   * may wait for a lock before it fails (SQLSTATE 55P03). Default: as the
   * server says (usually for ever).
   */
  lockTimeoutMs?: number;
  /**
   * Postgres' `idle_in_transaction_session_timeout`: a session left in an
   * open transaction this long is ended, and its locks freed, so a frozen
   * or cut-off process cannot hold rows that others wait for. Default 60 s.
   */
  idleInTransactionTimeoutMs?: number;
}

const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * The pool opens lazily on the first query and closes on `$disconnect()`.
 * Settings the URL itself gives (`?lock_timeout=5000`, as pg reads them)
 * override the options.
 */
export function createPrismaClient({ databaseUrl, poolMax, connectTimeoutMs, lockTimeoutMs, idleInTransactionTimeoutMs = DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS }: CreatePrismaClientOptions): PrismaClient {
  const pool = new pg.Pool({
    ...connectionOptions(databaseUrl, connectTimeoutMs),
    ...(poolMax === undefined ? {} : { max: poolMax }),
    ...(lockTimeoutMs === undefined ? {} : { lock_timeout: lockTimeoutMs }),
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
  });
  // An idle connection that breaks is dropped by the pool and the next query reconnects;
  // without a listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  // So would a connection lost while checked out (a Postgres restart): it fails its query, then emits 'error',
  // even in the moment after it was handed out and before its user could listen. The pool drops it when it returns.
  pool.on('connect', (client) => client.on('error', () => undefined));
  // Prisma sends a query's parts at once; on a transaction's one connection they must take turns.
  pool.on('connect', serializeQueries);
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
}
