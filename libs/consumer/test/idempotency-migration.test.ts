import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyMigrations, createPrismaClient, dropDatabase, MIGRATIONS_DIR } from '@video-pipeline/db';
import { testConfig } from '../../../test/support/test-env';
import { ProcessedEvents } from '../src';

/** The migration back to a row per processed event. */
const ROWS_MIGRATION = /_processed_events_primary_key$/;

/**
 * A database upgraded from the schema that kept a commit's ids as one row
 * (`processed_event_sets`): every record made before must still be found,
 * or the upgrade would run those events' handlers again.
 */
describe('the migration to a primary key per processed event', () => {
  const databaseUrl = (() => {
    const url = new URL(testConfig('migration.').database.url);
    url.pathname = `/vp_rows_migration_${randomUUID().slice(0, 8)}`;
    return url.toString();
  })();
  let before: string;

  beforeAll(async () => {
    before = await mkdtemp(path.join(tmpdir(), 'vp-migrations-before-'));
    const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    const rows = names.findIndex((name) => ROWS_MIGRATION.test(name));
    expect(rows).toBeGreaterThan(0);
    for (const name of names.slice(0, rows)) await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    await cp(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(before, 'migration_lock.toml'));
  });
  afterAll(async () => {
    await rm(before, { recursive: true, force: true });
    await dropDatabase(databaseUrl);
  });

  it('carries every record over as a row of its own, once, at its first commit, and drops the sets, watermarks and their function', async () => {
    await applyMigrations({ databaseUrl, migrationsDir: before });
    const prisma = createPrismaClient({ databaseUrl, poolMax: 2 });
    try {
      const [a, b, c, raced, other] = Array.from({ length: 5 }, () => randomUUID());
      // A commit's ids as that schema kept them: one row, spanning its lowest to its highest id.
      const set = (group: string, ids: string[], at: string) => {
        const sorted = [...ids].sort();
        return prisma.$executeRaw`
          INSERT INTO processed_event_sets (consumer_group, first_event_id, last_event_id, event_ids, time_ordered, processed_at)
          VALUES (${group}, ${sorted[0]}::uuid, ${sorted.at(-1)}::uuid, ${sorted}::uuid[], FALSE, ${new Date(at)})`;
      };
      await set('analytics', [a!, b!, raced!], '2026-12-01T00:00:00Z');
      await set('analytics', [c!, raced!], '2026-12-02T00:00:00Z'); // two instances recorded `raced` in a race
      await set('moderation', [other!], '2026-12-03T00:00:00Z');
      await prisma.$executeRaw`INSERT INTO processed_watermarks (consumer_group, topic, partition, max_event_id) VALUES ('analytics', 'video.uploaded', 0, ${c}::uuid)`;

      await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });

      const rows = await prisma.$queryRaw<{ consumer_group: string; event_id: string; processed_at: Date }[]>`
        SELECT consumer_group, event_id::text, processed_at FROM processed_events ORDER BY consumer_group, processed_at, event_id`;
      expect(rows.map((row) => [row.consumer_group, row.event_id, row.processed_at.toISOString()])).toEqual([
        ...[a!, b!, raced!].sort().map((id) => ['analytics', id, '2026-12-01T00:00:00.000Z']),
        ['analytics', c, '2026-12-02T00:00:00.000Z'],
        ['moderation', other, '2026-12-03T00:00:00.000Z'],
      ]);
      expect(await new ProcessedEvents(prisma, 'analytics').processedOf([a!, b!, c!, raced!, other!, randomUUID()])).toEqual(new Set([a, b, c, raced]));

      const [left] = await prisma.$queryRaw<{ tables: number; functions: number }[]>`
        SELECT (SELECT count(*)::int FROM pg_tables WHERE tablename IN ('processed_event_sets', 'processed_watermarks')) AS tables,
               (SELECT count(*)::int FROM pg_proc WHERE proname = 'uuid_order_key') AS functions`;
      expect(left).toEqual({ tables: 0, functions: 0 });
    } finally {
      await prisma.$disconnect();
    }
  });
});
