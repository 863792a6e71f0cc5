// Creating and dropping whole databases. These statements cannot run inside the target
// database, so they go through the server's maintenance database (`postgres`).
import { Client, escapeIdentifier } from 'pg';
import { connectionOptions } from './connection';
import { sqlState, UNIQUE_VIOLATION } from './error-code';

const MAINTENANCE_DATABASE = 'postgres';

// Postgres SQLSTATE codes we expect and handle.
const INVALID_CATALOG_NAME = '3D000'; // connecting to a database that does not exist
const DUPLICATE_DATABASE = '42P04';

export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new Error('The database URL names no database');
  return name;
}

export function withDatabaseName(databaseUrl: string, databaseName: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(databaseName)}`;
  return url.toString();
}

function hasSqlState(error: unknown, ...codes: string[]): boolean {
  return codes.includes(sqlState(error) ?? '');
}

async function withMaintenanceClient<T>(databaseUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(connectionOptions(withDatabaseName(databaseUrl, MAINTENANCE_DATABASE)));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates the database named in the URL unless it exists. Tries the database itself first,
 * so where it exists (production) no access to the maintenance database or CREATEDB is needed.
 * Returns whether this call created it.
 */
export async function ensureDatabaseExists(databaseUrl: string): Promise<boolean> {
  const probe = new Client(connectionOptions(databaseUrl));
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if (!hasSqlState(error, INVALID_CATALOG_NAME)) throw error;
  } finally {
    await probe.end();
  }
  return createDatabase(databaseUrl);
}

/** CREATE DATABASE for the name in the URL; false if someone else created it first. */
export async function createDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseNameOf(databaseUrl);
  return withMaintenanceClient(databaseUrl, async (client) => {
    try {
      await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      // A unique violation: two CREATE DATABASE racing on pg_database's unique index.
      if (hasSqlState(error, DUPLICATE_DATABASE, UNIQUE_VIOLATION)) return false;
      throw error;
    }
  });
}

/** Drops the database named in the URL, disconnecting its sessions (Postgres >= 13). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  await withMaintenanceClient(databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
  });
}

/** A clean, empty database of the URL's name: for test and benchmark runs, never production. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  await dropDatabase(databaseUrl);
  await createDatabase(databaseUrl);
}
