import { PipelineError } from '@video-pipeline/errors';
import { toKafkaRecord } from '@video-pipeline/events';
import { eventually } from '../../../test/support/pipeline';
import { headersAsStrings, startProbeConsumer } from '../../../test/support/probe-consumer';
import { deliveryHeaders } from '@video-pipeline/events';
import { appliedEffects, counterValue, fastRetryPolicy, processedEventIds, recordingHandler, useTestbeds, videoUploaded, type ConsumerTestbed } from './support/harness';

/** Reads the group's dead-letter topic until it holds `count` records. */
async function deadLetters(bed: ConsumerTestbed, count: number) {
  const probe = await startProbeConsumer(bed.kafka, bed.deadLetterTopic, `${bed.prefix}dlq-probe`);
  try {
    await eventually(async () => probe.received.length >= count, 20_000, `${count} dead letters`);
    return probe.received.map((record) => ({ key: record.message.key?.toString(), value: record.message.value?.toString(), headers: headersAsStrings(record.message) }));
  } finally {
    await probe.stop();
  }
}

describe('events that cannot succeed are parked in the dead-letter topic', () => {
  const testbed = useTestbeds();

  it('parks a permanent failure at once, with the error and its origin, and goes on with the next event', async () => {
    const bed = await testbed('dlq-permanent');
    const doomed = videoUploaded();
    const next = videoUploaded();
    const handler = recordingHandler((event) => {
      if (event.id === doomed.id) throw new PipelineError('processing_failed', 'the container is corrupt');
    });
    const runtime = await bed.runtime({ handlers: handler.handlers });

    const [metadata] = await bed.publish([doomed, next]);
    const [parked] = await deadLetters(bed, 1);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, next.id)).length === 1, 10_000, 'the next event to be handled');
    await runtime.stop();

    const original = toKafkaRecord(doomed, bed.prefix);
    expect(parked).toEqual({
      key: original.key,
      value: original.value,
      headers: {
        ...original.headers,
        [deliveryHeaders.group]: bed.groupId,
        [deliveryHeaders.attempts]: '1',
        [deliveryHeaders.errorCode]: 'processing_failed',
        [deliveryHeaders.errorMessage]: 'the container is corrupt',
        [deliveryHeaders.originalTopic]: bed.sourceTopic,
        [deliveryHeaders.originalPartition]: '0',
        [deliveryHeaders.originalOffset]: metadata!.baseOffset,
        [deliveryHeaders.failedAt]: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
    expect(handler.callsFor(doomed.id)).toHaveLength(1); // not retried
    expect(await appliedEffects(bed.prisma, bed.groupId, doomed.id)).toHaveLength(0);
    expect(await processedEventIds(bed.prisma, bed.groupId)).toEqual([next.id]);
    expect(await bed.committedOffset(bed.sourceTopic, 0)).toBe(2);
    expect(await counterValue(runtime.metrics.deadLettered, { group: bed.groupId, type: 'video.uploaded', code: 'processing_failed' })).toBe(1);
    expect(await counterValue(runtime.metrics.failed, { code: 'processing_failed' })).toBe(1);
    expect(await counterValue(runtime.metrics.retried)).toBe(0);
    expect(await counterValue(runtime.metrics.processed)).toBe(1);
  });

  it('parks malformed records without calling the handler, keeping them byte for byte', async () => {
    const bed = await testbed('dlq-malformed');
    const handler = recordingHandler();
    const runtime = await bed.runtime({ handlers: handler.handlers });

    const badJson = { ...toKafkaRecord(videoUploaded(), bed.prefix), value: '{"schemaVersion": 1, "videoId": ' };
    const futureVersion = (() => {
      const record = toKafkaRecord(videoUploaded(), bed.prefix);
      return { ...record, value: JSON.stringify({ ...JSON.parse(record.value), schemaVersion: 2 }) };
    })();
    const headerless = (() => {
      const { ce_id: _id, ce_type: _type, ...headers } = toKafkaRecord(videoUploaded(), bed.prefix).headers;
      return { ...toKafkaRecord(videoUploaded(), bed.prefix), headers };
    })();
    const valid = videoUploaded();
    await bed.publishRaw([badJson, futureVersion, headerless, toKafkaRecord(valid, bed.prefix)]);

    const parked = await deadLetters(bed, 3);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, valid.id)).length === 1, 10_000, 'the valid event to be handled');
    await runtime.stop();

    expect(parked.map((record) => [record.headers[deliveryHeaders.errorCode], record.headers[deliveryHeaders.originalOffset]])).toEqual([
      ['malformed_event', '0'],
      ['unsupported_event', '1'],
      ['malformed_event', '2'],
    ]);
    expect(parked[0]!.headers[deliveryHeaders.errorMessage]).toMatch(/^value is not JSON/);
    expect(parked[1]!.headers[deliveryHeaders.errorMessage]).toBe('video.uploaded schemaVersion 2 is not supported (expected 1)');
    expect(parked[2]!.headers[deliveryHeaders.errorMessage]).toBe('missing CloudEvents headers: ce_id, ce_type');
    [badJson, futureVersion, headerless].forEach((original, index) => {
      const { key, value, headers } = parked[index]!;
      expect({ key, value }).toEqual({ key: original.key, value: original.value });
      expect(headers).toMatchObject({ ...original.headers, [deliveryHeaders.group]: bed.groupId, [deliveryHeaders.originalTopic]: bed.sourceTopic });
    });
    expect(handler.calls.map((call) => call.eventId)).toEqual([valid.id]);
    expect(await counterValue(runtime.metrics.deadLettered, { code: 'malformed_event' })).toBe(2);
    expect(await counterValue(runtime.metrics.deadLettered, { code: 'unsupported_event' })).toBe(1);
  });

  it('parks an event that fails through every retry tier, with its first origin and all its attempts', async () => {
    const bed = await testbed('dlq-exhausted');
    const stubborn = videoUploaded();
    const handler = recordingHandler(() => {
      throw new PipelineError('temporarily_unavailable', 'storage is down');
    });
    const runtime = await bed.runtime({ handlers: handler.handlers });

    const [metadata] = await bed.publish([stubborn]);
    const [parked] = await deadLetters(bed, 1);
    await runtime.stop();

    const tiers = fastRetryPolicy.tierDelaysMs.length;
    expect(handler.callsFor(stubborn.id).map((call) => call.attempt)).toEqual([1, 2, 3]);
    expect(parked!.headers).toMatchObject({
      ce_id: stubborn.id,
      [deliveryHeaders.attempts]: String(tiers + 1),
      [deliveryHeaders.errorCode]: 'temporarily_unavailable',
      [deliveryHeaders.errorMessage]: 'storage is down',
      [deliveryHeaders.originalTopic]: bed.sourceTopic,
      [deliveryHeaders.originalPartition]: '0',
      [deliveryHeaders.originalOffset]: metadata!.baseOffset,
    });
    // Nothing of the retry bookkeeping leaks into the parked record.
    expect(parked!.headers[deliveryHeaders.retryAt]).toBeUndefined();
    expect(parked!.headers[deliveryHeaders.tier]).toBeUndefined();
    expect(await counterValue(runtime.metrics.retried, { tier: '1' })).toBe(1);
    expect(await counterValue(runtime.metrics.retried, { tier: '2' })).toBe(1);
    expect(await counterValue(runtime.metrics.deadLettered, { code: 'temporarily_unavailable' })).toBe(1);
    expect(await counterValue(runtime.metrics.failed)).toBe(tiers + 1);
    expect(await appliedEffects(bed.prisma, bed.groupId)).toHaveLength(0);
  });
});
