import type { CloudEvent } from '@video-pipeline/events';
import { eventually } from '../../../test/support/pipeline';
import type { HandlerContext } from '../src';
import { appliedEffects, fastMembership, processedEventIds, recordingHandler, trackAssignment, useTestbeds, videoUploaded } from './support/harness';

/**
 * A handler that blocks on the events it is told to, until released or
 * aborted, and runs the others at once. It notes which attempts saw their
 * signal abort, and why.
 */
function blockingOn(blocked: Set<string>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const aborted: { eventId: string; reason: string }[] = [];
  const started = new Set<string>();
  const handler = recordingHandler(async (event: CloudEvent<'video.uploaded'>, { signal }: HandlerContext) => {
    started.add(event.id);
    if (!blocked.has(event.id)) return;
    await new Promise<void>((resolve, reject) => {
      void released.then(resolve);
      signal.addEventListener('abort', () => {
        aborted.push({ eventId: event.id, reason: (signal.reason as { code?: string; name?: string }).code ?? (signal.reason as Error).name });
        reject(signal.reason as Error);
      });
    });
  });
  return { ...handler, release, aborted, started };
}

describe('long work on one partition', () => {
  const testbed = useTestbeds();

  it('does not delay the other partitions, and keeps the membership past the session timeout', async () => {
    const bed = await testbed('long-work-latency', { sourcePartitions: 2 });
    const long = videoUploaded();
    const handler = blockingOn(new Set([long.id]));
    const runtime = await bed.runtime({ handlers: handler.handlers }, { start: false });
    const assignment = trackAssignment(runtime, bed.sourceTopic);
    await runtime.start();
    await bed.publish([long], { partition: 0 });
    await eventually(async () => handler.started.has(long.id), 10_000, 'the long handler to start');
    const joinsBefore = assignment.joins();

    // For longer than the session timeout, partition 1's events keep flowing while partition 0's handler works.
    const latenciesMs: number[] = [];
    const until = performance.now() + fastMembership.sessionTimeoutMs * 1.5;
    while (performance.now() < until) {
      const quick = videoUploaded();
      const publishedAt = performance.now();
      await bed.publish([quick], { partition: 1 });
      await eventually(async () => handler.callsFor(quick.id).some((call) => call.outcome === 'success'), 10_000, 'a partition 1 event to be handled');
      latenciesMs.push(performance.now() - publishedAt);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(handler.callsFor(long.id)[0]!.endedAt).toBeUndefined(); // still working all along

    // Each event on partition 1 was handled within a fetch or two, not after the long handler.
    expect(latenciesMs.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...latenciesMs)).toBeLessThan(2_000);
    // No rebalance: the member kept partition 0 and its handler through the session timeout.
    expect(assignment.joins()).toBe(joinsBefore);
    expect(assignment.partitions()).toEqual([0, 1]);

    handler.release();
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, long.id)).length === 1, 10_000, 'the long event to commit');
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 1, 10_000, 'partition 0 offset committed');
    expect(handler.callsFor(long.id)).toHaveLength(1);
    expect(handler.aborted).toEqual([]);
  });

  it('aborts the work of a partition a rebalance moves away; the new owner does it, and each effect happens once', async () => {
    const bed = await testbed('long-work-rebalance', { sourcePartitions: 2 });
    const events = [videoUploaded(), videoUploaded()];
    await bed.publish([events[0]!], { partition: 0 });
    await bed.publish([events[1]!], { partition: 1 });
    const first = blockingOn(new Set(events.map((event) => event.id)));
    const runtimeA = await bed.runtime({ handlers: first.handlers });
    await eventually(async () => events.every((event) => first.started.has(event.id)), 10_000, 'both long handlers to start on the first instance');

    // A second instance joins while both handlers work: the first rejoins at once and gives up one partition.
    const second = blockingOn(new Set());
    const runtimeB = await bed.runtime({ handlers: second.handlers }, { start: false });
    const assignmentB = trackAssignment(runtimeB, bed.sourceTopic);
    await runtimeB.start();
    await eventually(async () => assignmentB.partitions().length === 1, 15_000, 'the second instance to get a partition');
    const moved = events[assignmentB.partitions()[0]!]!;
    const kept = events.find((event) => event !== moved)!;

    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, moved.id)).length === 1, 15_000, 'the new owner to do the moved event');
    expect(first.aborted).toEqual([{ eventId: moved.id, reason: 'partition_revoked' }]);
    expect(first.started.has(kept.id) && first.callsFor(kept.id)[0]!.endedAt === undefined).toBe(true); // the kept one still works

    first.release();
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, kept.id)).length === 1, 10_000, 'the kept event to commit');
    await runtimeA.stop();
    await runtimeB.stop();
    expect(await appliedEffects(bed.prisma, bed.groupId, moved.id)).toEqual([{ appliedBy: 'test', eventId: moved.id }]);
    expect(await appliedEffects(bed.prisma, bed.groupId, kept.id)).toEqual([{ appliedBy: 'test', eventId: kept.id }]);
    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual(events.map((event) => event.id).sort());
    expect(second.callsFor(moved.id)).toHaveLength(1);
    expect(second.callsFor(kept.id)).toHaveLength(0);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(1);
    expect(await bed.committedOffset(bed.sourceTopic, 1)).toBe(1);
  });

  it('on stop, lets long work finish within the grace period and commits it while the other partition went on', async () => {
    const bed = await testbed('long-work-stop', { sourcePartitions: 2 });
    const long = videoUploaded();
    const handler = blockingOn(new Set([long.id]));
    const runtime = await bed.runtime({ handlers: handler.handlers, shutdownGraceMs: 10_000 });
    await bed.publish([long], { partition: 0 });
    await eventually(async () => handler.started.has(long.id), 10_000, 'the long handler to start');
    const quick = videoUploaded();
    await bed.publish([quick], { partition: 1 });
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, quick.id)).length === 1, 5_000, 'partition 1 to go on');

    const stopped = runtime.stop();
    setTimeout(() => handler.release(), 1_000);
    await stopped;

    expect(await appliedEffects(bed.prisma, bed.groupId, long.id)).toEqual([{ appliedBy: 'test', eventId: long.id }]);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(1);
    expect(await bed.committedOffset(bed.sourceTopic, 1)).toBe(1);
    expect(handler.aborted).toEqual([]);

    // The next instance has nothing left to do on either partition.
    const next = recordingHandler();
    const again = await bed.runtime({ handlers: next.handlers });
    const after = videoUploaded();
    await bed.publish([after], { partition: 0 });
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, after.id)).length === 1, 10_000, 'the next event');
    await again.stop();
    expect(next.calls.map((call) => call.eventId)).toEqual([after.id]);
  });
});
