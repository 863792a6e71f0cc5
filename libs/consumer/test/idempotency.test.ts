import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners } from 'kafkajs';
import { PipelineError } from '@video-pipeline/errors';
import { toKafkaRecord } from '@video-pipeline/events';
import { createProducer } from '@video-pipeline/kafka';
import { eventually } from '../../../test/support/pipeline';
import { ProcessedEvents, replayDeadLetters, type ConsumerGroupRuntime } from '../src';
import { appliedEffects, counterValue, processedEventIds, recordingHandler, trackAssignment, useTestbeds, videoUploaded } from './support/harness';

/** The partition of `count` that the pipeline's producers send a key to. */
function partitionOf(key: string, count: number): number {
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  return Partitioners.DefaultPartitioner()({ topic: 'any', partitionMetadata, message: { key, value: null } });
}

/** Events a set of runtimes committed as processed, and skipped as duplicates. */
async function outcomes(runtimes: ConsumerGroupRuntime[]): Promise<{ processed: number; duplicates: number }> {
  let processed = 0;
  let duplicates = 0;
  for (const runtime of runtimes) {
    processed += await counterValue(runtime.metrics.processed);
    duplicates += await counterValue(runtime.metrics.duplicates);
  }
  return { processed, duplicates };
}

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

  it('skips a copy of an event that succeeded in a retry tier', async () => {
    const bed = await testbed('idem-after-tier');
    const older = videoUploaded();
    const event = videoUploaded();
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

    await send(keyless(older, 1), 1);
    await send(keyless(event, 0), 1);
    await send(keyless(event, 1), 2); // the same event on another partition
    await runtime.stop();

    expect(handler.callsFor(event.id)).toHaveLength(1);
    expect(await counterValue(runtime.metrics.duplicates)).toBe(1);
  });

  it('skips the events the group processed before, wherever they are in a batch', async () => {
    const bed = await testbed('idem-long-batch');
    const events = Array.from({ length: 300 }, () => videoUploaded());
    const done = [events[3]!, events[250]!];
    await new ProcessedEvents(bed.prisma, bed.groupId).commit(done.map((event) => ({ eventId: event.id })));
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

  it('applies effects once when the topic gains partitions mid-stream and copies of its events land on other partitions', async () => {
    const bed = await testbed('idem-partitions-added', { sourcePartitions: 2 });
    const before = Array.from({ length: 20 }, () => videoUploaded());
    const after = Array.from({ length: 20 }, () => videoUploaded());
    const handler = recordingHandler(() => sleep(20)); // slow enough that the topic grows while its events are handled
    // Two instances, each noticing new partitions within a second.
    const runtimes = [await bed.runtime({ handlers: handler.handlers, metadataMaxAgeMs: 1_000 }, { start: false }), await bed.runtime({ handlers: handler.handlers, metadataMaxAgeMs: 1_000 }, { start: false })];
    const assignments = runtimes.map((runtime) => trackAssignment(runtime, bed.sourceTopic));
    for (const runtime of runtimes) await runtime.start();

    // By key, most videos map to another partition of six than of two: their copies land apart from the originals.
    expect(before.filter((event) => partitionOf(event.subject, 2) !== partitionOf(event.subject, 6)).length).toBeGreaterThan(0);
    await bed.publish(before);
    await eventually(async () => handler.calls.length >= 5, 20_000, 'handling to begin');
    const admin = await bed.adminClient();
    await admin.createPartitions({ topicPartitions: [{ topic: bed.sourceTopic, count: 6 }] });
    await eventually(async () => assignments.flatMap((assigned) => assigned.partitions()).sort().join() === '0,1,2,3,4,5', 30_000, 'the instances to share all six partitions');

    // Copies of the first events (a relay's republish after a crash, say), by a producer that knows the six partitions, and new events.
    const producer = createProducer(bed.kafka);
    await producer.connect();
    try {
      await producer.send({ topic: bed.sourceTopic, acks: -1, messages: [...before, ...after].map((event) => toKafkaRecord(event, bed.prefix)) });
    } finally {
      await producer.disconnect();
    }

    await eventually(async () => {
      const { processed, duplicates } = await outcomes(runtimes);
      return processed + duplicates >= before.length * 2 + after.length;
    }, 30_000, 'every event and copy to be committed or skipped');
    for (const runtime of runtimes) await runtime.stop();

    for (const event of [...before, ...after]) expect({ eventId: event.id, applied: (await appliedEffects(bed.prisma, bed.groupId, event.id)).length }).toEqual({ eventId: event.id, applied: 1 });
    // Every event counted as processed once; the copies, and whatever a rebalance handed over twice, as duplicates.
    const { processed, duplicates } = await outcomes(runtimes);
    expect(processed).toBe(before.length + after.length);
    expect(duplicates).toBeGreaterThanOrEqual(before.length);
    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual([...before, ...after].map((event) => event.id).sort());
  });

  it('applies effects once when two instances handle copies of one event at the same moment', async () => {
    const bed = await testbed('idem-race', { sourcePartitions: 2 });
    const event = videoUploaded();
    let started = 0;
    let bothStarted!: () => void;
    const race = new Promise<void>((resolve) => (bothStarted = resolve));
    // Each handler waits for the other, so neither copy can be skipped as already processed: both commit at once.
    const handler = recordingHandler(async () => {
      if (++started === 2) bothStarted();
      await race;
    });
    const runtimes = [await bed.runtime({ handlers: handler.handlers }, { start: false }), await bed.runtime({ handlers: handler.handlers }, { start: false })];
    const assignments = runtimes.map((runtime) => trackAssignment(runtime, bed.sourceTopic));
    for (const runtime of runtimes) await runtime.start();
    await eventually(async () => assignments.every((assigned) => assigned.partitions().length === 1), 20_000, 'each instance to hold one partition');

    await bed.publish([event], { partition: 0 });
    await bed.publish([event], { partition: 1 });
    await eventually(async () => (await Promise.all([0, 1].map((partition) => bed.committedOffset(bed.sourceTopic, partition)))).every((offset) => offset === 1), 20_000, 'both copies to be committed');
    for (const runtime of runtimes) await runtime.stop();

    expect(handler.callsFor(event.id).map((call) => call.outcome)).toEqual(['success', 'success']);
    expect(await appliedEffects(bed.prisma, bed.groupId, event.id)).toHaveLength(1);
    expect(await outcomes(runtimes)).toEqual({ processed: 1, duplicates: 1 });
    expect(await processedEventIds(bed.prisma, bed.groupId)).toEqual([event.id]);
  });
});
