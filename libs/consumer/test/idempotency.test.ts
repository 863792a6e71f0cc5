import { PipelineError } from '@video-pipeline/errors';
import { eventually } from '../../../test/support/pipeline';
import { toKafkaRecord } from '@video-pipeline/events';
import { IdempotencyStore, replayDeadLetters } from '../src';
import { appliedEffects, counterValue, processedEventIds, recordingHandler, useTestbeds, videoUploaded } from './support/harness';

describe('an event has its effects applied once, however often it arrives', () => {
  const testbed = useTestbeds();

  it('handles an event published twice in a row once', async () => {
    const bed = await testbed('idem-twice');
    const event = videoUploaded();
    const after = videoUploaded();
    const handler = recordingHandler();
    const runtime = await bed.runtime({ handlers: handler.handlers });

    await bed.publish([event, event, after]); // a relay that published twice: adjacent copies, one batch
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, after.id)).length === 1, 10_000, 'the event after the copies');
    await runtime.stop();

    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
    expect(handler.callsFor(event.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.duplicates, { group: bed.groupId, type: 'video.uploaded' })).toBe(1);
    expect(await counterValue(runtime.metrics.processed)).toBe(2);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(3);
  });

  it('skips a copy that arrives after the first was committed', async () => {
    const bed = await testbed('idem-later');
    const event = videoUploaded();
    const handler = recordingHandler();
    const runtime = await bed.runtime({ handlers: handler.handlers });

    await bed.publish([event]);
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 1, 10_000, 'the first copy to be committed');
    await bed.publish([event]);
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 2, 10_000, 'the second copy to be committed');
    await runtime.stop();

    expect(handler.callsFor(event.id)).toHaveLength(1);
    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.duplicates)).toBe(1);
  });

  it('skips a copy of an event that succeeded in a retry tier, republished on its partition with nothing newer after it', async () => {
    const bed = await testbed('idem-after-tier');
    const older = videoUploaded();
    const event = videoUploaded(); // newer than older: its partition's watermark must rise to it from the retry tier
    let failuresLeft = 1;
    const handler = recordingHandler((handled) => {
      if (handled.id === event.id && failuresLeft-- > 0) throw new Error('dependency flaked');
    });
    const runtime = await bed.runtime({ handlers: handler.handlers });

    await bed.publish([older, event]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, event.id)).length === 1, 10_000, 'the event to succeed in retry tier 1');
    await bed.publish([event]);
    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === 3, 10_000, 'the copy to be committed');
    await runtime.stop();

    expect(handler.callsFor(event.id).map((call) => call.outcome)).toEqual(['failure', 'success']);
    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.duplicates)).toBe(1);
  });

  it('skips a copy of an event published without a key, which may land on another partition', async () => {
    const bed = await testbed('idem-keyless', { sourcePartitions: 2 });
    const [older, event] = [videoUploaded(), videoUploaded()];
    const keyless = (published: typeof event, partition: number) => ({ ...toKafkaRecord(published, bed.prefix), key: null, partition });
    const handler = recordingHandler();
    const runtime = await bed.runtime({ handlers: handler.handlers });
    const send = async (record: ReturnType<typeof keyless>, committed: number) => {
      await bed.producer.send({ topic: bed.sourceTopic, acks: -1, messages: [record] });
      await eventually(async () => (await bed.committedOffset(bed.sourceTopic, record.partition)) === committed, 10_000, `offset ${committed} of partition ${record.partition} to be committed`);
    };

    await send(keyless(older, 1), 1); // partition 1's watermark: older
    await send(keyless(event, 0), 1); // partition 0's watermark: event
    await send(keyless(event, 1), 2); // above partition 1's watermark, but a copy all the same
    await runtime.stop();

    expect(handler.callsFor(event.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.duplicates)).toBe(1);
  });

  it('skips events processed before anywhere in a long batch, head or tail', async () => {
    const bed = await testbed('idem-long-batch');
    const events = Array.from({ length: 300 }, () => videoUploaded());
    const done = [events[3]!, events[250]!]; // one in the part looked up first, one in the rest
    await new IdempotencyStore(bed.prisma, bed.groupId).complete(done.map((event) => ({ eventId: event.id, origin: { topic: bed.sourceTopic, partition: 0 } })));
    await bed.publish(events, { partition: 0 }); // before the runtime starts: one batch
    const handler = recordingHandler();
    const runtime = await bed.runtime({ handlers: handler.handlers });

    await eventually(async () => (await bed.committedOffset(bed.sourceTopic, 0)) === events.length, 15_000, 'the whole batch to be committed');
    await runtime.stop();

    for (const event of done) expect(handler.callsFor(event.id)).toHaveLength(0);
    expect(handler.calls).toHaveLength(events.length - done.length);
    expect(await counterValue(runtime.metrics.duplicates)).toBe(done.length);
    expect(await counterValue(runtime.metrics.processed)).toBe(events.length - done.length);
  });

  it('applies an event published twice, dead-lettered, then replayed twice from the dead-letter topic exactly once', async () => {
    const bed = await testbed('idem-replay');
    const event = videoUploaded();
    let broken = true; // e.g. a bad deploy, fixed before the replay
    const handler = recordingHandler(() => {
      if (broken) throw new PipelineError('processing_failed', 'codec not supported');
    });
    const runtime = await bed.runtime({ handlers: handler.handlers });

    await bed.publish([event, event]);
    await eventually(async () => (await bed.recordCount(bed.deadLetterTopic)) === 2, 10_000, 'both copies in the dead-letter topic');
    expect(await appliedEffects(bed.prisma, bed.groupId)).toHaveLength(0);

    broken = false;
    const replay = () => replayDeadLetters({ kafka: bed.kafka, group: bed.group, topicPrefix: bed.prefix, filter: { eventIds: [event.id] } });
    expect(await replay()).toEqual({ scanned: 2, replayed: 2, skipped: 0 });
    await eventually(async () => (await counterValue(runtime.metrics.processed)) + (await counterValue(runtime.metrics.duplicates)) === 2, 10_000, 'both replayed copies');
    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);

    // Replaying again finds the same two records (nothing was consumed) and changes nothing.
    expect(await replay()).toEqual({ scanned: 2, replayed: 2, skipped: 0 });
    await eventually(async () => (await counterValue(runtime.metrics.duplicates)) === 3, 10_000, 'the second replay to be skipped');
    await runtime.stop();

    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
    expect(await processedEventIds(bed.prisma, bed.groupId)).toEqual([event.id]);
    expect(handler.callsFor(event.id).filter((call) => call.outcome === 'success')).toHaveLength(1);
    expect(await counterValue(runtime.metrics.processed)).toBe(1);
    expect(await counterValue(runtime.metrics.deadLettered)).toBe(2);
  });
});
