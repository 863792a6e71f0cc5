// Applies prisma/migrations to a database with the wasm schema engine: the same
// bookkeeping (_prisma_migrations rows, checksums) as `prisma migrate deploy`.
import { stat } from 'node:fs/promises';
import { Client } from 'pg';
import { connectionOptions } from './connection';
import { ensureDatabaseExists } from './database-admin';
import { errorCode } from './error-code';
import { readMigrationsList } from './migrations-directory';
import { applyMigrationsInChildProcess } from './migrate-child-process';
import { openSchemaEngine } from './schema-engine';
import { loadSchemaEngineGlue } from './schema-engine-wasm';

export interface ApplyMigrationsOptions {
  /** postgresql:// URL; the database is created if it does not exist. */
  databaseUrl: string;
  /** Folder holding migration_lock.toml and the <timestamp>_<name>/migration.sql folders. */
  migrationsDir: string;
  log?: (message: string) => void;
}

export interface ApplyMigrationsResult {
  /** Migrations applied by this call, oldest first; empty when the database was up to date. */
  appliedMigrationNames: string[];
}

// Serializes concurrent callers (e.g. several services starting at once). Deliberately not
// Prisma's own key (72707369), which the engine may take itself on its own connection.
const MIGRATION_LOCK_KEY = '7263514092773810101';

// How a CommonJS sandbox that cannot load ES modules (jest without --experimental-vm-modules)
// refuses the engine's ES-module glue.
const ESM_UNAVAILABLE_CODES = new Set([
  'ERR_REQUIRE_ESM',
  'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING',
  'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG',
]);

export async function applyMigrations(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => undefined);
  await assertDirectoryExists(options.migrationsDir);
  try {
    await loadSchemaEngineGlue();
  } catch (error) {
    if (!isEsmUnavailable(error)) throw error;
    log('schema engine cannot load in this module sandbox; applying migrations in a child process');
    return applyMigrationsInChildProcess(options);
  }
  return applyMigrationsInProcess(options);
}

function isEsmUnavailable(error: unknown): boolean {
  return ESM_UNAVAILABLE_CODES.has(errorCode(error) ?? '');
}

async function assertDirectoryExists(directory: string): Promise<void> {
  const stats = await stat(directory).catch(() => null);
  if (!stats?.isDirectory()) throw new Error(`Migrations directory not found: ${directory}`);
}

/** applyMigrations without the child-process fallback (what the CLI runs). */
export async function applyMigrationsInProcess(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => undefined);
  await assertDirectoryExists(options.migrationsDir);
  if (await ensureDatabaseExists(options.databaseUrl)) log('created database');
  return withMigrationLock(options.databaseUrl, log, async () => {
    const { engine, close } = await openSchemaEngine({ databaseUrl: options.databaseUrl, log });
    try {
      const { appliedMigrationNames } = await engine.applyMigrations({
        migrationsList: await readMigrationsList(options.migrationsDir),
        filters: { externalTables: [], externalEnums: [] },
      });
      log(
        appliedMigrationNames.length > 0
          ? `applied ${appliedMigrationNames.length} migration(s): ${appliedMigrationNames.join(', ')}`
          : 'database is up to date; no migration applied',
      );
      return { appliedMigrationNames };
    } finally {
      await close();
    }
  });
}

/** Holds a session-level advisory lock on a dedicated connection while `work` runs. */
async function withMigrationLock<T>(
  databaseUrl: string,
  log: (message: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  const lockClient = new Client(connectionOptions(databaseUrl));
  await lockClient.connect();
  try {
    const { rows } = await lockClient.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [MIGRATION_LOCK_KEY],
    );
    if (!rows[0]?.locked) {
      log('another process is migrating this database; waiting for it');
      await lockClient.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
    return await work();
  } finally {
    // Session-level advisory locks are released when the session ends.
    await lockClient.end();
  }
}
