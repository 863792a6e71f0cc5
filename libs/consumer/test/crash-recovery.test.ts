import { eventually } from '../../../test/support/pipeline';
import { appliedEffects, processedEventIds, recordingHandler, useTestbeds, videoUploaded } from './support/harness';
import { handlerStarted, useSlowWorkers } from './support/worker-process';

describe('a worker killed in the middle of an event', () => {
  const testbed = useTestbeds();
  const startWorker = useSlowWorkers();

  it('leaves nothing committed, and another instance of the group completes the event once', async () => {
    const bed = await testbed('crash');
    const event = videoUploaded();
    await bed.publish([event]);

    const worker = await startWorker(bed.prefix, { handlerMs: 60_000, shutdownGraceMs: 10_000 });
    await handlerStarted(worker, event.id);
    worker.kill('SIGKILL');
    expect(await worker.exited).toMatchObject({ code: null, signal: 'SIGKILL' });

    // Nothing of the killed attempt was committed: no effects, no idempotency record, no offset.
    expect(await appliedEffects(bed.prisma, bed.groupId)).toEqual([]);
    expect(await processedEventIds(bed.prisma, bed.groupId)).toEqual([]);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(-1);

    // Another instance joins once the broker drops the dead member (its session timeout), and takes the event over.
    const handler = recordingHandler();
    const survivor = await bed.runtime({ handlers: handler.handlers });
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, event.id)).length > 0, 20_000, 'the event to be completed');
    await survivor.stop();

    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toEqual([{ appliedBy: 'test', eventId: event.id }]);
    expect(handler.callsFor(event.id)).toHaveLength(1);
    expect(await processedEventIds(bed.prisma, bed.groupId)).toEqual([event.id]);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(1);
  });
});
