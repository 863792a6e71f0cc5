// The generated Prisma client, connected through @prisma/adapter-pg (Prisma 7 has no
// built-in driver: the adapter's pg.Pool does the I/O).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { connectionOptions } from './connection';
import { PrismaClient } from './generated/client';

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

const pools = new WeakMap<PrismaClient, pg.Pool>();

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
  const client = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(client, pool);
  // Prisma ends the pool only if it used it; a client that only ran queryRows must end it too.
  const disconnect = client.$disconnect.bind(client);
  client.$disconnect = async () => {
    await disconnect();
    if (!pool.ended) await pool.end();
  };
  return client;
}

/**
 * Runs one SQL statement with positional parameters ($1, $2, ...) on the pg
 * pool behind `prisma`, past Prisma's query pipeline, which costs the client
 * about three times as much CPU per query (bench/consumer-throughput.ts shows
 * it). For hot paths only: rows come back as pg parses them, not as Prisma
 * would. A client made elsewhere (a test's stand-in) goes through
 * `$queryRawUnsafe`.
 */
export async function queryRows<Row>(prisma: PrismaClient, text: string, values: readonly unknown[]): Promise<Row[]> {
  const pool = pools.get(prisma);
  if (!pool) return prisma.$queryRawUnsafe<Row[]>(text, ...values);
  const result = await pool.query(text, values as unknown[]);
  return result.rows as Row[];
}

/** Runs one statement of a transaction, as queryRows runs one alone. */
export type RunStatement = <Row>(text: string, values: readonly unknown[]) => Promise<Row[]>;

/** Statements run through a Prisma transaction client, for code written against RunStatement. */
export function statementsIn(tx: Pick<PrismaClient, '$queryRawUnsafe'>): RunStatement {
  return (text, values) => tx.$queryRawUnsafe(text, ...values);
}

/**
 * Runs `work` in one transaction on the pg pool behind `prisma`, past
 * Prisma's query pipeline: commits if `work` resolves, rolls back if it
 * throws. For hot paths with no Prisma work inside: as a Prisma interactive
 * transaction, the consumer's idempotency store took 4.5–5.2 ms for a
 * commit of eight statements that takes 3.0–3.6 ms here. A client made
 * elsewhere (a test's stand-in) goes through `$transaction`.
 */
export async function inTransaction<T>(prisma: PrismaClient, work: (run: RunStatement) => Promise<T>): Promise<T> {
  const pool = pools.get(prisma);
  if (!pool) return prisma.$transaction((tx) => work(statementsIn(tx)));
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(async <Row>(text: string, values: readonly unknown[]) => (await client.query(text, values as unknown[])).rows as Row[]);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is broken: the pool drops it instead of reusing it.
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.release(broken);
  }
}
