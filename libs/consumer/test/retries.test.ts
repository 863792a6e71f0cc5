import { PipelineError } from '@video-pipeline/errors';
import { eventually } from '../../../test/support/pipeline';
import { headersAsStrings, startProbeConsumer } from '../../../test/support/probe-consumer';
import { deliveryHeaders } from '@video-pipeline/events';
import { appliedEffects, counterValue, fastRetryPolicy, processedEventIds, recordingHandler, useTestbeds, videoUploaded } from './support/harness';

describe('a failing event is retried without holding up its partition', () => {
  const testbed = useTestbeds();

  it('fails twice, then succeeds through the retry tiers: one side effect, and the event behind it is not held up', async () => {
    const bed = await testbed('retries'); // one partition: the two events share it
    const flaky = videoUploaded();
    const behind = videoUploaded();
    let failuresLeft = 2;
    const handler = recordingHandler((event) => {
      if (event.id === flaky.id && failuresLeft-- > 0) throw new Error('dependency flaked');
    });
    // A first tier long enough that "the event behind ran before it" cannot be a loaded machine's accident (CI: 540 ms past a 500 ms tier).
    const policy = { ...fastRetryPolicy, tierDelaysMs: [3_000, 1_000] };
    const runtime = await bed.runtime({ handlers: handler.handlers, retryPolicy: policy });
    const tier1 = await startProbeConsumer(bed.kafka, bed.retryTopic(1), `${bed.prefix}probe`);

    await bed.publish([flaky, behind]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, flaky.id)).length > 0, 20_000, 'the flaky event to succeed');
    await runtime.stop();

    const attempts = handler.callsFor(flaky.id);
    expect(attempts.map((call) => [call.attempt, call.outcome])).toEqual([
      [1, 'failure'],
      [2, 'failure'],
      [3, 'success'],
    ]);
    // Each tier waited its delay before trying again.
    expect(attempts[1]!.startedAt - attempts[0]!.endedAt!).toBeGreaterThanOrEqual(policy.tierDelaysMs[0]!);
    expect(attempts[2]!.startedAt - attempts[1]!.endedAt!).toBeGreaterThanOrEqual(policy.tierDelaysMs[1]!);

    // The event behind it ran right after the first failure, not after the back-off.
    const [behindCall] = handler.callsFor(behind.id);
    expect(behindCall!.outcome).toBe('success');
    expect(behindCall!.endedAt!).toBeLessThan(attempts[1]!.startedAt);
    expect(behindCall!.startedAt - attempts[0]!.endedAt!).toBeLessThan(policy.tierDelaysMs[0]!);

    expect(await appliedEffects(bed.prisma, bed.groupId, flaky.id)).toHaveLength(1);
    expect(await appliedEffects(bed.prisma, bed.groupId, behind.id)).toHaveLength(1);
    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual([flaky.id, behind.id].sort());

    // The record parked in tier 1 is the original plus where it came from and when it is due.
    const parked = await eventually(async () => tier1.received[0], 5_000, 'the record in retry tier 1');
    await tier1.stop();
    expect(parked.message.key?.toString()).toBe(flaky.subject);
    const headers = headersAsStrings(parked.message);
    expect(headers).toMatchObject({
      ce_id: flaky.id,
      [deliveryHeaders.attempts]: '1',
      [deliveryHeaders.tier]: '1',
      [deliveryHeaders.errorCode]: 'internal',
      [deliveryHeaders.errorMessage]: 'dependency flaked',
      [deliveryHeaders.originalTopic]: bed.sourceTopic,
      [deliveryHeaders.originalPartition]: '0',
      [deliveryHeaders.originalOffset]: '0',
    });
    expect(Number(headers[deliveryHeaders.retryAt])).toBeGreaterThanOrEqual(attempts[0]!.endedAt! + policy.tierDelaysMs[0]!);

    const metrics = runtime.metrics;
    const type = 'video.uploaded';
    expect(await counterValue(metrics.processed, { group: bed.groupId, type })).toBe(2);
    expect(await counterValue(metrics.failed, { group: bed.groupId, type, code: 'internal' })).toBe(2);
    expect(await counterValue(metrics.retried, { group: bed.groupId, type, tier: '1' })).toBe(1);
    expect(await counterValue(metrics.retried, { group: bed.groupId, type, tier: '2' })).toBe(1);
    expect(await counterValue(metrics.deadLettered)).toBe(0);
    expect(await counterValue(metrics.duplicates)).toBe(0);
    // The same counts as /metrics serves them.
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain(`pipeline_events_processed_total{group="${bed.groupId}",type="video.uploaded"} 2`);
    expect(exposition).toContain(`pipeline_events_retried_total{group="${bed.groupId}",type="video.uploaded",tier="2"} 1`);
    // Every attempt is timed: two failed, two succeeded.
    expect(exposition).toContain(`pipeline_handler_duration_seconds_count{group="${bed.groupId}",type="video.uploaded",outcome="failure"} 2`);
    expect(exposition).toContain(`pipeline_handler_duration_seconds_count{group="${bed.groupId}",type="video.uploaded",outcome="success"} 2`);
    expect(exposition).toContain(`pipeline_handler_duration_seconds_bucket{le="+Inf",group="${bed.groupId}",type="video.uploaded",outcome="success"} 2`);
  });

  it('retries in place first, with back-off, before it gives up on the delivery', async () => {
    const bed = await testbed('retries-in-place');
    const event = videoUploaded();
    let failuresLeft = 2;
    const handler = recordingHandler(() => {
      if (failuresLeft-- > 0) throw new PipelineError('temporarily_unavailable', 'storage is busy');
    });
    const retryPolicy = { ...fastRetryPolicy, attemptsPerDelivery: 3, inPlaceBackoff: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0 } };
    const runtime = await bed.runtime({ handlers: handler.handlers, retryPolicy });

    await bed.publish([event]);
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, event.id)).length > 0, 10_000, 'the event to succeed');
    await runtime.stop();

    const attempts = handler.callsFor(event.id);
    expect(attempts.map((call) => [call.attempt, call.outcome])).toEqual([
      [1, 'failure'],
      [2, 'failure'],
      [3, 'success'],
    ]);
    // In-place backoff is a timer, kept on the monotonic clock in whole milliseconds.
    const timerSlackMs = 1;
    expect(attempts[1]!.startedAtMonotonic - attempts[0]!.endedAtMonotonic!).toBeGreaterThanOrEqual(100 - timerSlackMs);
    expect(attempts[2]!.startedAtMonotonic - attempts[1]!.endedAtMonotonic!).toBeGreaterThanOrEqual(200 - timerSlackMs);
    expect(await counterValue(runtime.metrics.failed, { code: 'temporarily_unavailable' })).toBe(2);
    expect(await counterValue(runtime.metrics.retried)).toBe(0);
    expect(await bed.recordCount(bed.retryTopic(1))).toBe(0);
  });
});
