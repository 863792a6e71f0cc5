// Writes a new migration from the difference between the existing migrations and
// schema.prisma (what `prisma migrate dev --create-only` does), using the wasm engine.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createDatabase, dropDatabase, withDatabaseName } from './database-admin';
import { migrationFolderName, readMigrationsList, writeMigration } from './migrations-directory';
import { openSchemaEngine } from './schema-engine';

export interface DiffMigrationOptions {
  /** Names the server; only the (temporary) shadow database is used, created next to it. */
  databaseUrl: string;
  migrationsDir: string;
  schemaPath: string;
  /** Descriptive name, e.g. "add_thumbnails"; normalized to lowercase snake_case. */
  name: string;
  /** Write the folder even when the schema has no changes (for hand-written SQL). */
  allowEmpty?: boolean;
  log?: (message: string) => void;
}

export interface DiffMigrationResult {
  /** Folder written, or null when there was nothing to migrate (and allowEmpty was not set). */
  folder: string | null;
  sql: string;
}

export async function diffMigration(options: DiffMigrationOptions): Promise<DiffMigrationResult> {
  const log = options.log ?? (() => undefined);
  const name = normalizeMigrationName(options.name);
  const sql = await diffMigrationsToSchema(options, log);
  if (!hasStatements(sql) && !options.allowEmpty) {
    log('schema.prisma matches the migrations; no migration written');
    return { folder: null, sql };
  }
  const folder = await writeMigration(options.migrationsDir, migrationFolderName(name), sql);
  log(`wrote ${path.relative(process.cwd(), folder)}/migration.sql`);
  return { folder, sql };
}

export function normalizeMigrationName(name: string): string {
  const normalized = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (!normalized) throw new Error(`Invalid migration name: ${JSON.stringify(name)}`);
  return normalized;
}

function hasStatements(sql: string): boolean {
  return sql.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--'));
}

/**
 * The engine replays the migrations into a shadow database and diffs the result against the
 * schema. The shadow is a throwaway database created here and dropped afterwards. The engine
 * also connects to its main database (which it needs to exist) without using it for the diff;
 * pointing that at the shadow too keeps the developer's database out of it.
 */
async function diffMigrationsToSchema(
  options: DiffMigrationOptions,
  log: (message: string) => void,
): Promise<string> {
  const schemaContent = await readFile(options.schemaPath, 'utf8');
  const shadowUrl = withDatabaseName(options.databaseUrl, `prisma_shadow_${randomUUID().replace(/-/g, '')}`);
  await createDatabase(shadowUrl);
  try {
    const schemaFiles = [{ path: path.basename(options.schemaPath), content: schemaContent }];
    const migrations = await readMigrationsList(options.migrationsDir);
    const { engine, close } = await openSchemaEngine({
      databaseUrl: shadowUrl,
      shadowDatabaseUrl: shadowUrl,
      schemaFiles,
      log,
    });
    try {
      const result = await engine.diff({
        // With no history yet (and so no migration_lock.toml telling the engine the
        // provider), the first migration is simply everything: empty -> schema.
        from: migrations.migrationDirectories.length > 0 ? { tag: 'migrations', ...migrations } : { tag: 'empty' },
        to: { tag: 'schemaDatamodel', files: schemaFiles },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      return result.stdout ?? '';
    } finally {
      await close();
    }
  } finally {
    await dropDatabase(shadowUrl);
  }
}
