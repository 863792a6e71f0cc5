import { eventually } from '../../../test/support/pipeline';
import { appliedEffects, counterValue, processedEventIds, recordingHandler, useTestbeds, otherEventsIgnored, videoUploaded } from './support/harness';

describe('handled events are committed in micro-batches', () => {
  const testbed = useTestbeds();

  it('commits an event within the commit delay even while a long handler after it still runs', async () => {
    const bed = await testbed('commit-delay');
    const [quick, long] = [videoUploaded(), videoUploaded()];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const handler = recordingHandler(async (event) => {
      if (event.id === long.id) await released;
    });
    const runtime = await bed.runtime({ handlers: handler.handlers, maxCommitDelayMs: 50 });

    try {
      await bed.publish([quick, long]);
      await eventually(async () => handler.callsFor(long.id).length === 1, 10_000, 'the long handler to start');
      await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, quick.id)).length === 1, 5_000, 'the quick event to be committed');
      expect(handler.callsFor(long.id)[0]!.endedAt).toBeUndefined(); // still running
    } finally {
      release();
    }
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 2, 10_000, 'both to be committed');
    await runtime.stop();
    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual([quick.id, long.id].sort());
  });

  it('gives timers and I/O turns between the quick events of a long batch', async () => {
    const bed = await testbed('event-loop-turns');
    const events = Array.from({ length: 600 }, () => videoUploaded());
    await bed.publish(events); // before the runtime starts, so its first fetch takes them all in one batch
    let handled = 0;
    let timerFiredAfter: number | undefined;
    const runtime = await bed.runtime({
      handlers: {
        ...otherEventsIgnored, 'video.uploaded': async () => {
          if (handled++ === 0) setTimeout(() => (timerFiredAfter = handled), 0);
        },
      },
    });

    await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === events.length, 20_000, 'every event');
    await runtime.stop();
    // Heartbeats, the commit delay and commit results wait for such turns; without them this timer fires at the batch's end.
    expect(timerFiredAfter).toBeLessThanOrEqual(200);
  });

  it('commits many fast events together, each exactly once', async () => {
    const bed = await testbed('commit-many', { sourcePartitions: 3 });
    const events = Array.from({ length: 300 }, () => videoUploaded());
    const handler = recordingHandler();
    const runtime = await bed.runtime({ handlers: handler.handlers, maxCommitBatch: 40 });

    await bed.publish(events);
    await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === events.length, 20_000, 'every event');
    await runtime.stop();

    expect(handler.calls).toHaveLength(events.length);
    expect(await appliedEffects(bed.prisma, bed.groupId)).toHaveLength(events.length);
    expect(await counterValue(runtime.metrics.processed)).toBe(events.length);
    expect(await counterValue(runtime.metrics.duplicates)).toBe(0);
  });
});
