// Throwaway databases for libs/db tests, on the Postgres that the tests' DATABASE_URL
// (or the local default) points at. Each gets a unique name and is dropped afterwards.
import { randomUUID } from 'node:crypto';
import { dropDatabase, withDatabaseName } from '../src/database-admin';

const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export function throwawayDatabaseUrl(purpose: string): string {
  return withDatabaseName(SERVER_URL, `vp_db_test_${purpose}_${randomUUID().slice(0, 8)}`);
}

export async function dropDatabases(urls: string[]): Promise<void> {
  await Promise.all(urls.map((url) => dropDatabase(url)));
}
