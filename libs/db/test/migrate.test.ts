import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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

describe('applyMigrations', () => {
  it('creates the database, applies every migration once, and records them like migrate deploy', async () => {
    const databaseUrl = newDatabaseUrl('fresh');
    const first = await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });
    const second = await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });

    expect(first.appliedMigrationNames).toEqual([expect.stringMatching(/^\d{14}_init$/)]);
    expect(second.appliedMigrationNames).toEqual([]);

    const rows = await queryRows<MigrationRow>(databaseUrl, 'SELECT * FROM _prisma_migrations');
    expect(rows).toHaveLength(1);
    const [row] = rows;
    const initSql = await readFile(path.join(MIGRATIONS_DIR, row!.migration_name, 'migration.sql'));
    expect(row).toMatchObject({
      migration_name: first.appliedMigrationNames[0],
      // migrate deploy's checksum: sha256 of the migration.sql bytes
      checksum: createHash('sha256').update(initSql).digest('hex'),
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(row!.finished_at).toBeInstanceOf(Date);
  });

  it('is safe when two processes migrate the same new database at once', async () => {
    const databaseUrl = newDatabaseUrl('concurrent');
    const results = await Promise.all([
      applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR }),
      applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR }),
    ]);

    const appliedCounts = results.map((result) => result.appliedMigrationNames.length).sort();
    expect(appliedCounts).toEqual([0, 1]);
    const rows = await queryRows<MigrationRow>(databaseUrl, 'SELECT * FROM _prisma_migrations');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.finished_at).toBeInstanceOf(Date);
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
