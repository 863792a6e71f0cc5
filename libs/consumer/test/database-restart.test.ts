import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { EventHandlers } from '../src';
import { eventually } from '../../../test/support/pipeline';
import { testConfig } from '../../../test/support/test-env';
import { appliedEffects, countedEffects, processedEventIds, useTestbeds, videoUploaded } from './support/harness';

jest.setTimeout(120_000);

describe('a consumer group whose database connections are cut mid-drain', () => {
  const testbed = useTestbeds();

  it('survives, as after a Postgres restart, and applies every effect once', async () => {
    const bed = await testbed('db-restart', { sourcePartitions: 3 });
    const events = Array.from({ length: 300 }, () => videoUploaded());
    // Half the events have effects (Prisma's transaction), half none (the runtime's own): both kinds of commit get cut.
    const hasEffects = (eventId: string) => parseInt(eventId.at(-1)!, 16) % 2 === 0;
    const handled = new Set<string>();
    const handlers: EventHandlers = {
      'video.uploaded': async (event, context) => {
        await sleep(5);
        handled.add(event.id);
        return hasEffects(event.id) ? countedEffects(event, context.groupId) : undefined;
      },
    };
    const runtime = await bed.runtime({ handlers });
    await bed.publish(events);
    await eventually(async () => handled.size >= 20, 20_000, 'handling to begin');

    // What a restart does to clients: the server ends every session, in the middle of whatever it runs.
    const admin = new pg.Client({ connectionString: testConfig(bed.prefix).database.url });
    await admin.connect();
    let cut = 0;
    try {
      for (let round = 0; round < 40 && handled.size < events.length; round++) {
        const { rows } = await admin.query<{ ended: boolean }>(
          "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        );
        cut += rows.filter((row) => row.ended).length;
        await sleep(50);
      }
    } finally {
      await admin.end();
    }
    expect(cut).toBeGreaterThan(0);

    const all = events.map((event) => event.id).sort();
    await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length >= all.length, 60_000, 'every event to be processed');
    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual(all);
    expect((await appliedEffects(bed.prisma, bed.groupId)).map((effect) => effect.eventId).sort()).toEqual(all.filter(hasEffects));
    expect(await bed.recordCount(bed.deadLetterTopic)).toBe(0);
    await runtime.stop();
  });
});
