import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyMigrations, createPrismaClient, dropDatabase, MIGRATIONS_DIR, queryRows } from '@video-pipeline/db';
import { newEventId } from '@video-pipeline/events';
import { testConfig } from '../../../test/support/test-env';
import { IdempotencyStore } from '../src';

/** The first migration that keeps idempotency records as sets. */
const SETS_MIGRATION = /_processed_event_sets$/;

/**
 * A database upgraded from the schema with a row per processed event: every
 * record made before must still be found, or the upgrade would run those
 * events' handlers again.
 */
describe('the migration to sets of processed events', () => {
  const databaseUrl = (() => {
    const url = new URL(testConfig('migration.').database.url);
    url.pathname = `/vp_sets_migration_${randomUUID().slice(0, 8)}`;
    return url.toString();
  })();
  let before: string;

  beforeAll(async () => {
    before = await mkdtemp(path.join(tmpdir(), 'vp-migrations-before-'));
    const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    const firstOfSets = names.findIndex((name) => SETS_MIGRATION.test(name));
    expect(firstOfSets).toBeGreaterThan(0);
    for (const name of names.slice(0, firstOfSets)) await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    await cp(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(before, 'migration_lock.toml'));
  });
  afterAll(async () => {
    await rm(before, { recursive: true, force: true });
    await dropDatabase(databaseUrl);
  });

  it('keeps every record findable, gives random ids a set each, and starts watermarks above them', async () => {
    await applyMigrations({ databaseUrl, migrationsDir: before });
    const prisma = createPrismaClient({ databaseUrl, poolMax: 2 });
    try {
      const timeOrdered = Array.from({ length: 1_500 }, () => newEventId());
      const random = Array.from({ length: 30 }, () => randomUUID());
      const other = Array.from({ length: 5 }, () => newEventId());
      const legacy = (group: string, ids: string[]) => queryRows(prisma, `INSERT INTO processed_events (consumer_group, event_id) SELECT $1, unnest($2::uuid[])`, [group, ids]);
      await legacy('analytics', [...timeOrdered, ...random]);
      await legacy('moderation', other);

      await applyMigrations({ databaseUrl, migrationsDir: MIGRATIONS_DIR });

      const analytics = new IdempotencyStore(prisma, 'analytics');
      const unseen = Array.from({ length: 10 }, () => randomUUID());
      expect(await analytics.processed([...timeOrdered, ...random, ...other, ...unseen])).toEqual(new Set([...timeOrdered, ...random]));
      expect(await new IdempotencyStore(prisma, 'moderation').processed([...other, ...timeOrdered])).toEqual(new Set(other));

      const sets = await queryRows<{ size: number; time_ordered: boolean }>(prisma, `SELECT cardinality(event_ids) AS size, time_ordered FROM processed_event_sets WHERE consumer_group = 'analytics' ORDER BY first_event_id`, []);
      expect(sets.filter((set) => set.time_ordered).map((set) => set.size)).toEqual([1_000, 500]);
      expect(sets.filter((set) => !set.time_ordered).map((set) => set.size)).toEqual(random.map(() => 1));

      // No partition has a watermark of its own yet: the group's unattributed one, the highest legacy id, stands in.
      const highest = [...timeOrdered, ...random].sort().at(-1);
      const lookup = await analytics.processedFrom({ topic: 'video.uploaded', partition: 0 }, [timeOrdered[7]!, random[3]!, unseen[0]!]);
      expect(lookup).toEqual({ processed: new Set([timeOrdered[7], random[3]]), watermark: highest, version: 0 });
    } finally {
      await prisma.$disconnect();
    }
  });
});
