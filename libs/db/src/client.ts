// The generated Prisma client, connected through @prisma/adapter-pg (Prisma 7 has no
// built-in driver: the adapter's pg.Pool does the I/O).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/client';

export interface CreatePrismaClientOptions {
  /** postgresql:// URL of the application database. */
  databaseUrl: string;
  /** Upper bound of the pg pool; defaults to pg's 10. */
  poolMax?: number;
}

const pools = new WeakMap<PrismaClient, pg.Pool>();

/** The pool opens lazily on the first query and closes on `$disconnect()`. */
export function createPrismaClient({ databaseUrl, poolMax }: CreatePrismaClientOptions): PrismaClient {
  const pool = new pg.Pool({ connectionString: databaseUrl, ...(poolMax === undefined ? {} : { max: poolMax }) });
  // An idle connection that breaks is dropped by the pool and the next query reconnects;
  // without a listener the 'error' event would end the process.
  pool.on('error', () => undefined);
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
