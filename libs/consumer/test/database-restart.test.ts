import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createPrismaClient } from '@video-pipeline/db';
import { createKafka } from '@video-pipeline/kafka';
import type { EventHandlers } from '../src';
import { eventually } from '../../../test/support/pipeline';
import { TcpProxy } from '../../../test/support/network';
import { testConfig } from '../../../test/support/test-env';
import { appliedEffects, capturingLogger, countedEffects, counterValue, processedEventIds, useTestbeds, otherEventsIgnored, videoUploaded } from './support/harness';

jest.setTimeout(120_000);

describe('a consumer group whose database goes away', () => {
  const testbed = useTestbeds();

  it('spends no attempt on a commit the database cut: the event is delivered again', async () => {
    const bed = await testbed('db-cut-commit');
    const event = videoUploaded();
    let handled = 0;
    const handlers: EventHandlers = {
      ...otherEventsIgnored, 'video.uploaded': async (delivered, context) => {
        handled += 1;
        const counted = countedEffects(delivered, context.groupId);
        return async (tx) => {
          // The first commit's session ends under it, as when Postgres restarts.
          if (handled === 1) await tx.$queryRaw`SELECT pg_terminate_backend(pg_backend_pid())`;
          await counted(tx);
        };
      },
    };
    const capture = capturingLogger();
    const runtime = await bed.runtime({ handlers, logger: capture.logger });

    await bed.publish([event]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId)).length > 0, 20_000, 'the event to be committed');
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 1, 10_000, 'its offset to be committed');
    await runtime.stop();

    expect(handled).toBe(2);
    expect(await appliedEffects(bed.prisma, bed.groupId)).toHaveLength(1);
    expect(await processedEventIds(bed.prisma, bed.groupId)).toEqual([event.id]);
    // Delivered again from its own topic: no failed attempt, no retry tier, no dead letter.
    expect(await counterValue(runtime.metrics.failed)).toBe(0);
    expect(await counterValue(runtime.metrics.retried)).toBe(0);
    expect(await bed.recordCount(bed.retryTopic(1))).toBe(0);
    expect(await bed.recordCount(bed.deadLetterTopic)).toBe(0);
    const [pause] = capture.logged('database unavailable; fetching the batch again after a pause');
    expect(pause?.err?.code).toBe('database_unavailable');
  });

  it('waits out an outage in place: no attempt spent, no error logged, no consumer restart', async () => {
    const bed = await testbed('db-outage', { sourcePartitions: 2 });
    const { url } = testConfig(bed.prefix).database;
    const proxy = new TcpProxy({ host: new URL(url).hostname, port: Number(new URL(url).port || 5432) });
    await proxy.up();
    const throughProxy = new URL(url);
    throughProxy.port = String(proxy.port);
    const prisma = createPrismaClient({ databaseUrl: throughProxy.toString(), poolMax: 4 });
    // The group's kafkajs client logs to the same capture, so an eachBatch error or a crash would show.
    const capture = capturingLogger();
    const kafka = createKafka(testConfig(bed.prefix).kafka, capture.logger, { retry: { initialRetryTime: 100, retries: 8 } });
    const handlers: EventHandlers = { ...otherEventsIgnored, 'video.uploaded': async (event, context) => countedEffects(event, context.groupId) };
    try {
      // No jitter in the pauses: each is the back-off's own delay.
      const runtime = await bed.runtime({ handlers, prisma, kafka, logger: capture.logger, random: () => 0 });
      let joins = 0;
      runtime.on(runtime.events.GROUP_JOIN, () => (joins += 1));
      const before = Array.from({ length: 20 }, () => videoUploaded());
      await bed.publish(before);
      await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === before.length, 20_000, 'the first events to be processed');
      const joinsBefore = joins;

      await proxy.down();
      const during = Array.from({ length: 20 }, () => videoUploaded());
      await bed.publish(during);
      await eventually(async () => capture.logged('database unavailable; fetching the batch again after a pause').length >= 2, 10_000, 'the runtime to pause a batch twice');
      await proxy.up();

      const all = [...before, ...during].map((event) => event.id).sort();
      await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length >= all.length, 20_000, 'every event to be processed');
      expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual(all);
      expect((await appliedEffects(bed.prisma, bed.groupId)).map((effect) => effect.eventId).sort()).toEqual(all);
      expect(await counterValue(runtime.metrics.failed)).toBe(0);
      expect(await counterValue(runtime.metrics.retried)).toBe(0);
      expect(joins).toBe(joinsBefore);
      expect(capture.lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((line) => line.level === 'error')).toEqual([]);
      // Each pause waits longer than the one before.
      const pauses = capture.logged('database unavailable; fetching the batch again after a pause').map((line) => line.retryInMs as number);
      expect(pauses.slice(0, 2)).toEqual([250, 500]);
      expect(pauses).toEqual([...pauses].sort((a, b) => a - b));
      await runtime.stop();
    } finally {
      await prisma.$disconnect();
      await proxy.down();
    }
  });

  it('survives its sessions being cut mid-drain, as in a Postgres restart, and applies every effect once', async () => {
    const bed = await testbed('db-restart', { sourcePartitions: 3 });
    const events = Array.from({ length: 300 }, () => videoUploaded());
    // Half the events have effects (Prisma's transaction), half none (the runtime's own): both kinds of commit get cut.
    const hasEffects = (eventId: string) => parseInt(eventId.at(-1)!, 16) % 2 === 0;
    const handled = new Set<string>();
    const handlers: EventHandlers = {
      ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
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
    // The outage cost no event an attempt: none moved to a retry tier, so none could be parked.
    expect(await counterValue(runtime.metrics.retried)).toBe(0);
    expect(await bed.recordCount(bed.deadLetterTopic)).toBe(0);
    await runtime.stop();
  });
});
