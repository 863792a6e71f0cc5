import type { CloudEvent } from '@video-pipeline/events';
import { toKafkaRecord } from '@video-pipeline/events';
import { eventually } from '../../../test/support/pipeline';
import { headersAsStrings, startProbeConsumer } from '../../../test/support/probe-consumer';
import { deliveryHeaders } from '@video-pipeline/events';
import { readDeadLetters, replayDeadLetters, type DeadLetter, type ReplayProgress } from '../src';
import { capturingLogger, useTestbeds, videoUploaded, type ConsumerTestbed } from './support/harness';

/** Parks events in the group's dead-letter topic the way the runtime does. */
async function park(bed: ConsumerTestbed, entries: { event: CloudEvent; code: string }[]): Promise<void> {
  await bed.producer.send({
    topic: bed.deadLetterTopic,
    acks: -1,
    messages: entries.map(({ event, code }, index) => {
      const record = toKafkaRecord(event, bed.prefix);
      return {
        key: record.key,
        value: record.value,
        headers: {
          ...record.headers,
          [deliveryHeaders.originalTopic]: bed.sourceTopic,
          [deliveryHeaders.originalPartition]: '0',
          [deliveryHeaders.originalOffset]: String(100 + index),
          [deliveryHeaders.group]: bed.groupId,
          [deliveryHeaders.attempts]: '3',
          [deliveryHeaders.errorCode]: code,
          [deliveryHeaders.errorMessage]: `failed with ${code}`,
          [deliveryHeaders.failedAt]: new Date().toISOString(),
        },
      };
    }),
  });
}

describe('replayDeadLetters re-publishes parked events to the first retry tier', () => {
  const testbed = useTestbeds();

  it('readDeadLetters lists what is parked and why, without republishing anything', async () => {
    const bed = await testbed('dlq-read');
    const events = [videoUploaded(), videoUploaded()];
    await park(bed, [
      { event: events[0]!, code: 'processing_failed' },
      { event: events[1]!, code: 'malformed_event' },
    ]);
    const read: DeadLetter[] = [];
    const totals: [number, number][] = [];

    const result = await readDeadLetters({ kafka: bed.kafka, group: bed.group, topicPrefix: bed.prefix, onRecord: (deadLetter) => void read.push(deadLetter), onProgress: ({ scanned, total }) => totals.push([scanned, total]) });

    expect(result).toEqual({ scanned: 2 });
    expect(totals).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(read.map(({ message: _message, failedAt: _failedAt, ...facts }) => facts)).toEqual(
      events.map((event, index) => ({
        partition: 0,
        offset: String(index),
        eventId: event.id,
        eventType: 'video.uploaded',
        errorCode: index === 0 ? 'processing_failed' : 'malformed_event',
        errorMessage: `failed with ${index === 0 ? 'processing_failed' : 'malformed_event'}`,
        attempts: 3,
        originalTopic: bed.sourceTopic,
        originalPartition: 0,
        originalOffset: String(100 + index),
      })),
    );
    expect(read[0]!.message.key?.toString()).toBe(events[0]!.subject);
    expect(await bed.recordCount(bed.retryTopic(1))).toBe(0);
  });

  it('republishes each record as first published, due now, marked as replayed, and reports progress', async () => {
    const bed = await testbed('replay-shape');
    const events = [videoUploaded(), videoUploaded(), videoUploaded()];
    await park(bed, events.map((event) => ({ event, code: 'processing_failed' })));
    const progress: ReplayProgress[] = [];

    const before = Date.now();
    const result = await replayDeadLetters({ kafka: bed.kafka, group: bed.group, topicPrefix: bed.prefix, onProgress: (entry) => progress.push(entry) });
    const after = Date.now();

    expect(result).toEqual({ scanned: 3, replayed: 3, skipped: 0 });
    expect(progress.map(({ total, scanned, replayed, skipped, replayedIt, deadLetter }) => ({ total, scanned, replayed, skipped, replayedIt, eventId: deadLetter.eventId }))).toEqual(
      events.map((event, index) => ({ total: 3, scanned: index + 1, replayed: index + 1, skipped: 0, replayedIt: true, eventId: event.id })),
    );
    expect(progress[0]!.deadLetter).toMatchObject({ partition: 0, offset: '0', errorCode: 'processing_failed', attempts: 3, originalTopic: bed.sourceTopic, originalOffset: '100' });

    const tier1 = await startProbeConsumer(bed.kafka, bed.retryTopic(1), `${bed.prefix}probe`);
    await eventually(async () => tier1.received.length === 3, 10_000, 'three replayed records');
    await tier1.stop();
    const replayed = tier1.received.map((record) => ({ key: record.message.key?.toString(), value: record.message.value?.toString(), headers: headersAsStrings(record.message) }));
    events.forEach((event, index) => {
      const original = toKafkaRecord(event, bed.prefix);
      const { headers, ...rest } = replayed.find((record) => record.headers.ce_id === event.id)!;
      expect(rest).toEqual({ key: original.key, value: original.value });
      expect(headers).toEqual({
        ...original.headers,
        [deliveryHeaders.originalTopic]: bed.sourceTopic,
        [deliveryHeaders.originalPartition]: '0',
        [deliveryHeaders.originalOffset]: String(100 + index),
        [deliveryHeaders.tier]: '1',
        [deliveryHeaders.retryAt]: expect.any(String),
        [deliveryHeaders.replayedAt]: expect.any(String),
      });
      const retryAt = Number(headers[deliveryHeaders.retryAt]);
      expect(retryAt).toBeGreaterThanOrEqual(before);
      expect(retryAt).toBeLessThanOrEqual(after);
      expect(Date.parse(headers[deliveryHeaders.replayedAt]!)).toBe(retryAt);
    });
  });

  it('replays only the records the filter and the range select', async () => {
    const bed = await testbed('replay-filter');
    const events = Array.from({ length: 5 }, () => videoUploaded());
    await park(bed, [
      { event: events[0]!, code: 'processing_failed' },
      { event: events[1]!, code: 'temporarily_unavailable' },
      { event: events[2]!, code: 'processing_failed' },
      { event: events[3]!, code: 'malformed_event' },
      { event: events[4]!, code: 'processing_failed' },
    ]);
    const replay = (options: Partial<Parameters<typeof replayDeadLetters>[0]>) => replayDeadLetters({ kafka: bed.kafka, group: bed.group, topicPrefix: bed.prefix, ...options });

    expect(await replay({ filter: { errorCodes: ['processing_failed'] } })).toEqual({ scanned: 5, replayed: 3, skipped: 2 });
    expect(await replay({ filter: { eventIds: [events[1]!.id.toUpperCase(), events[3]!.id] } })).toEqual({ scanned: 5, replayed: 2, skipped: 3 });
    expect(await replay({ filter: { errorCodes: ['processing_failed'], where: (deadLetter) => deadLetter.originalOffset === '104' } })).toEqual({ scanned: 5, replayed: 1, skipped: 4 });
    const progress: string[] = [];
    expect(await replay({ ranges: [{ partition: 0, from: '1', to: '3' }], onProgress: (entry) => progress.push(entry.deadLetter.offset) })).toEqual({ scanned: 3, replayed: 3, skipped: 0 });
    expect(progress).toEqual(['1', '2', '3']);
    expect(await replay({ ranges: [{ partition: 0, from: '4' }] })).toEqual({ scanned: 1, replayed: 1, skipped: 0 });

    expect(await bed.recordCount(bed.retryTopic(1))).toBe(3 + 2 + 1 + 3 + 1);
  });

  it('reads without leaving a trace: nothing committed, no reader group left, an empty topic is a no-op', async () => {
    const bed = await testbed('replay-trace');
    const { logger, lines: warnings } = capturingLogger();
    const replay = () => replayDeadLetters({ kafka: bed.kafka, group: bed.group, topicPrefix: bed.prefix, logger });
    expect(await replay()).toEqual({ scanned: 0, replayed: 0, skipped: 0 });

    await park(bed, [{ event: videoUploaded(), code: 'processing_failed' }]);
    expect(await replay()).toEqual({ scanned: 1, replayed: 1, skipped: 0 });
    expect(await replay()).toEqual({ scanned: 1, replayed: 1, skipped: 0 });

    const admin = await bed.adminClient();
    const { groups } = await admin.listGroups();
    expect(warnings).toEqual([]);
    expect(groups.filter((group) => group.groupId.startsWith(bed.prefix))).toEqual([]);
    expect(await bed.committedOffset(bed.deadLetterTopic, 0)).toBe(-1);
  });
});
