import { eventually } from '../../../test/support/pipeline';
import { appliedEffects, processedEventIds, recordingHandler, useTestbeds, videoUploaded, type ConsumerTestbed } from './support/harness';
import { handlerStarted, useSlowWorkers } from './support/worker-process';

/** The group's members as the broker sees them. */
async function groupMembers(bed: ConsumerTestbed): Promise<number> {
  const admin = await bed.adminClient();
  const { groups } = await admin.describeGroups([bed.groupId]);
  return groups[0]?.members.length ?? 0;
}

describe('SIGTERM while a handler runs', () => {
  const testbed = useTestbeds();
  const startWorker = useSlowWorkers();

  it('lets the handler finish within the grace period, commits it, and exits 0', async () => {
    const bed = await testbed('sigterm-finish');
    const event = videoUploaded();
    await bed.publish([event]);
    const shutdownGraceMs = 10_000;
    const worker = await startWorker(bed.prefix, { handlerMs: 1_500, shutdownGraceMs });
    await handlerStarted(worker, event.id);

    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    const exit = await worker.exited;

    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(shutdownGraceMs);
    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toEqual([{ appliedBy: worker.appliedBy, eventId: event.id }]);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(1);
    expect(await groupMembers(bed)).toBe(0); // it left the group: its partitions move at once

    // The next instance starts after the committed event: it handles the next one, and never sees the first again.
    const handler = recordingHandler();
    const next = await bed.runtime({ handlers: handler.handlers });
    const after = videoUploaded();
    await bed.publish([after]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, after.id)).length === 1, 10_000, 'the next event');
    await next.stop();
    expect(handler.calls.map((call) => call.eventId)).toEqual([after.id]);
  });

  it('aborts a handler that outlasts the grace period, exits 0 within it, and leaves the event to the next instance', async () => {
    const bed = await testbed('sigterm-abort');
    const event = videoUploaded();
    await bed.publish([event]);
    const shutdownGraceMs = 2_000;
    const worker = await startWorker(bed.prefix, { handlerMs: 60_000, shutdownGraceMs });
    await handlerStarted(worker, event.id);

    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    const exit = await worker.exited;

    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(shutdownGraceMs + 500); // stop() keeps to the grace; then the health server and pool close
    expect(await appliedEffects(bed.prisma, bed.groupId)).toEqual([]);
    expect(await processedEventIds(bed.prisma, bed.groupId)).toEqual([]);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(-1);
    expect(await groupMembers(bed)).toBe(0); // it left the group even so: no waiting for its session to time out

    const handler = recordingHandler();
    const next = await bed.runtime({ handlers: handler.handlers });
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, event.id)).length === 1, 10_000, 'the abandoned event to be redelivered');
    await next.stop();
    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toEqual([{ appliedBy: 'test', eventId: event.id }]);
    expect(handler.callsFor(event.id)).toHaveLength(1);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(1);
  });
});
