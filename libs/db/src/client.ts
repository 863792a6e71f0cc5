// The generated Prisma client, connected through @prisma/adapter-pg (Prisma 7 has no
// built-in driver: the adapter's pg.Pool does the I/O).
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export interface CreatePrismaClientOptions {
  /** postgresql:// URL of the application database. */
  databaseUrl: string;
  /** Upper bound of the pg pool; defaults to pg's 10. */
  poolMax?: number;
}

/** The pool opens lazily on the first query and closes on `$disconnect()`. */
export function createPrismaClient({ databaseUrl, poolMax }: CreatePrismaClientOptions): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, ...(poolMax === undefined ? {} : { max: poolMax }) });
  return new PrismaClient({ adapter });
}
