import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { applyMigrations, MIGRATIONS_DIR } from '../src';
import { dropDatabases, throwawayDatabaseUrl } from './database-fixture';

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

async function queryRows<T extends object>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const createdDatabases: string[] = [];
function newDatabaseUrl(purpose: string): string {
  const url = throwawayDatabaseUrl(purpose);
  createdDatabases.push(url);
  return url;
}

afterAll(() => dropDatabases(createdDatabases));

/** The migrations in prisma/migrations, oldest first, as migrate deploy orders them. */
async function migrationNames(): Promise<string[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory() && /^\d{14}_/.test(entry.name)).map((entry) => entry.name).sort();
}

describe('applyMigrations', () => {
  it('creates the database, applies every migration once, and records them like migrate deploy', async () => {
    const databaseUrl = newDatabaseUrl('fresh');
    const first = await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });
    const second = await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });

    const names = await migrationNames();
    expect(names[0]).toMatch(/^\d{14}_init$/);
    expect(first.appliedMigrationNames).toEqual(names);
    expect(second.appliedMigrationNames).toEqual([]);

    const rows = await queryRows<MigrationRow>(databaseUrl, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((row) => row.migration_name)).toEqual(names);
    for (const row of rows) {
      const sql = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row).toMatchObject({
        // migrate deploy's checksum: sha256 of the migration.sql bytes
        checksum: createHash('sha256').update(sql).digest('hex'),
        rolled_back_at: null,
        applied_steps_count: 1,
      });
      expect(row.finished_at).toBeInstanceOf(Date);
    }
  });

  it('is safe when two processes migrate the same new database at once', async () => {
    const databaseUrl = newDatabaseUrl('concurrent');
    const results = await Promise.all([
      applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR }),
      applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR }),
    ]);

    const names = await migrationNames();
    const appliedCounts = results.map((result) => result.appliedMigrationNames.length).sort((a, b) => a - b);
    expect(appliedCounts).toEqual([0, names.length]);
    const rows = await queryRows<MigrationRow>(databaseUrl, 'SELECT * FROM _prisma_migrations');
    expect(rows).toHaveLength(names.length);
    for (const row of rows) expect(row.finished_at).toBeInstanceOf(Date);
  });

  it('creates the hand-written partial index and NOTIFY trigger', async () => {
    const databaseUrl = newDatabaseUrl('objects');
    await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });

    const indexes = await queryRows<{ indexdef: string }>(
      databaseUrl,
      "SELECT indexdef FROM pg_indexes WHERE indexname = 'outbox_events_unpublished_position_idx'",
    );
    expect(indexes[0]?.indexdef).toContain('WHERE (published_at IS NULL)');
    const triggers = await queryRows<{ tgname: string }>(
      databaseUrl,
      "SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox_events'::regclass AND NOT tgisinternal",
    );
    expect(triggers.map((trigger) => trigger.tgname)).toEqual(['outbox_events_notify_after_insert']);
  });

  it('rejects a missing migrations directory instead of applying nothing', async () => {
    await expect(
      applyMigrations({ databaseUrl: newDatabaseUrl('unused'), migrationsDir: path.join(MIGRATIONS_DIR, 'nope') }),
    ).rejects.toThrow('Migrations directory not found');
  });
});
