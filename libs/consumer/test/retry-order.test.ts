import { randomUUID } from 'node:crypto';
import { PipelineError } from '@video-pipeline/errors';
import { eventually } from '../../../test/support/pipeline';
import { startProbeConsumer } from '../../../test/support/probe-consumer';
import { appliedEffects, counterValue, fastRetryPolicy, recordingHandler, useTestbeds, videoUploaded, type ConsumerTestbed } from './support/harness';
import { handlerStarted, useSlowWorkers } from './support/worker-process';

/** The group's events still waiting in its retry tiers. */
async function waitingEvents(bed: ConsumerTestbed): Promise<{ key: string; originalOffset: bigint }[]> {
  return bed.prisma.waitingEvent.findMany({ where: { consumerGroup: bed.groupId }, orderBy: [{ key: 'asc' }, { originalOffset: 'asc' }], select: { key: true, originalOffset: true } });
}

describe("an event in the retry tiers holds back its video's later events, and only them", () => {
  const testbed = useTestbeds();

  it('runs the later events of its video after it succeeds, in publication order, while other videos go on', async () => {
    const bed = await testbed('retry-order'); // one partition: every event shares it
    const videoId = randomUUID();
    const [first, second, third] = [videoUploaded({ videoId }), videoUploaded({ videoId }), videoUploaded({ videoId })];
    const other = videoUploaded();
    let failuresLeft = 2; // the first event fails in tier 0 and tier 1, then succeeds in tier 2
    const handler = recordingHandler((event) => {
      if (event.id === first.id && failuresLeft-- > 0) throw new Error('dependency flaked');
    });
    const runtime = await bed.runtime({ handlers: handler.handlers });

    await bed.publish([first, second, other, third]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, third.id)).length > 0, 20_000, 'the last event of the video to be handled');
    await eventually(async () => (await waitingEvents(bed)).length === 0, 5_000, 'the queue to be empty');
    await runtime.stop();

    const ofVideo = handler.calls.filter((call) => call.videoId === videoId).map((call) => [call.eventId, call.outcome]);
    expect(ofVideo).toEqual([
      [first.id, 'failure'],
      [first.id, 'failure'],
      [first.id, 'success'],
      [second.id, 'success'],
      [third.id, 'success'],
    ]);
    const firstSucceeded = handler.callsFor(first.id).at(-1)!;
    expect(handler.callsFor(second.id)[0]!.startedAt).toBeGreaterThanOrEqual(firstSucceeded.endedAt!);

    // The other video was not held: it ran before the first retry was even due.
    const [otherCall] = handler.callsFor(other.id);
    expect(otherCall!.startedAt - handler.callsFor(first.id)[0]!.endedAt!).toBeLessThan(fastRetryPolicy.tierDelaysMs[0]!);

    // Each event's effects once; the held ones were not attempts: they ran once, as attempt 1.
    for (const event of [first, second, third, other]) expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
    expect(handler.callsFor(second.id).map((call) => call.attempt)).toEqual([1]);
    expect(await counterValue(runtime.metrics.held, { group: bed.groupId })).toBeGreaterThanOrEqual(2);
    expect(await counterValue(runtime.metrics.retried, { group: bed.groupId })).toBe(2); // the first event's two moves, none for the held ones
  });

  it('lets the events behind a dead-lettered event go on, and keeps holding a video only while something of it waits', async () => {
    const bed = await testbed('retry-order-dlq');
    const videoId = randomUUID();
    const [doomed, behind] = [videoUploaded({ videoId }), videoUploaded({ videoId })];
    const handler = recordingHandler((event) => {
      if (event.id === doomed.id) throw new PipelineError('temporarily_unavailable', 'never comes back');
    });
    const runtime = await bed.runtime({ handlers: handler.handlers });
    const deadLetters = await startProbeConsumer(bed.kafka, bed.deadLetterTopic, `${bed.prefix}probe`);

    await bed.publish([doomed, behind]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, behind.id)).length > 0, 20_000, 'the event behind the dead-lettered one to run');
    await eventually(async () => (await waitingEvents(bed)).length === 0, 5_000, 'the queue to be empty');

    // Every attempt of the doomed event (one per tier) came before the event behind it, which ran once.
    const doomedAttempts = handler.callsFor(doomed.id);
    expect(doomedAttempts.map((call) => call.outcome)).toEqual(['failure', 'failure', 'failure']);
    const [behindCall, ...again] = handler.callsFor(behind.id);
    expect(again).toEqual([]);
    expect(behindCall!.startedAt).toBeGreaterThanOrEqual(doomedAttempts.at(-1)!.endedAt!);
    await eventually(async () => deadLetters.received.length === 1, 5_000, 'the doomed event in the dead-letter topic');
    expect(deadLetters.received[0]!.message.headers!.ce_id!.toString()).toBe(doomed.id);

    // Released: a new event of the video runs at once, without a detour through the tiers.
    const heldBefore = await counterValue(runtime.metrics.held, { group: bed.groupId });
    const later = videoUploaded({ videoId });
    const publishedAt = Date.now();
    await bed.publish([later]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, later.id)).length > 0, 10_000, 'the later event to run');
    expect(handler.callsFor(later.id)[0]!.startedAt - publishedAt).toBeLessThan(fastRetryPolicy.tierDelaysMs[0]!);
    expect(await counterValue(runtime.metrics.held, { group: bed.groupId })).toBe(heldBefore);
    await deadLetters.stop();
    await runtime.stop();
  });
});

describe('a worker killed while the first queued event of a video runs in a retry tier', () => {
  const testbed = useTestbeds();
  const startWorker = useSlowWorkers();

  it('gives up no place: the next instance runs that event again, then the ones behind it', async () => {
    const bed = await testbed('retry-order-crash');
    const videoId = randomUUID();
    const [first, second] = [videoUploaded({ videoId }), videoUploaded({ videoId })];
    // One instance fails the first event once: it moves to tier 1, and the second queues behind it.
    const failing = recordingHandler((event) => {
      if (event.id === first.id) throw new Error('dependency flaked');
    });
    const firstInstance = await bed.runtime({ handlers: failing.handlers });
    await bed.publish([first, second]);
    await eventually(async () => (await waitingEvents(bed)).length === 2, 10_000, 'both events queued');
    await firstInstance.stop();
    expect(failing.callsFor(second.id)).toEqual([]);

    // A worker process takes the group over, starts the first event from tier 1, and dies.
    const worker = await startWorker(bed.prefix, { handlerMs: 60_000, shutdownGraceMs: 10_000 });
    await handlerStarted(worker, first.id);
    worker.kill('SIGKILL');
    await worker.exited;
    expect(await waitingEvents(bed)).toHaveLength(2);
    expect(await appliedEffects(bed.prisma, bed.groupId)).toEqual([]);

    const handler = recordingHandler();
    const survivor = await bed.runtime({ handlers: handler.handlers });
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, second.id)).length > 0, 30_000, 'the second event to run');
    await eventually(async () => (await waitingEvents(bed)).length === 0, 5_000, 'the queue to be empty');
    await survivor.stop();

    expect(handler.calls.map((call) => call.eventId)).toEqual([first.id, second.id]);
    expect(await appliedEffects(bed.prisma, bed.groupId, first.id)).toHaveLength(1);
    expect(await appliedEffects(bed.prisma, bed.groupId, second.id)).toHaveLength(1);
  });
});
