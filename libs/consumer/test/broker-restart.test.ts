import { setTimeout as sleep } from 'node:timers/promises';
import { ownBroker } from '../../../test/support/own-broker';
import { eventually } from '../../../test/support/pipeline';
import { uniquePrefix } from '../../../test/support/test-env';
import { appliedEffects, ConsumerTestbed, processedEventIds, recordingHandler, videoUploaded } from './support/harness';

jest.setTimeout(180_000);

/**
 * Runs on a broker of its own, because it stops it while a group is in the
 * middle of a batch (kill -9): heartbeats and offset commits fail meanwhile.
 */
describe('a consumer group whose broker restarts', () => {
  const { broker, start: startFreshBroker } = ownBroker('broker-restart', 19_700);
  let bed: ConsumerTestbed | undefined;

  beforeAll(async () => {
    await startFreshBroker();
  });

  afterAll(async () => {
    await bed?.close();
    await broker.stop();
  });

  it('handles what it fetched while the broker is down, goes on once it is back, and applies every effect once', async () => {
    bed = new ConsumerTestbed(uniquePrefix('broker-restart'), 'transcoder', { KAFKA_BROKERS: broker.brokers.join(',') });
    await bed.start({ sourcePartitions: 3 });
    const before = Array.from({ length: 60 }, () => videoUploaded());
    const after = Array.from({ length: 20 }, () => videoUploaded());
    // Slow enough that the broker dies while batches are being handled.
    const handler = recordingHandler(() => sleep(50));
    const runtime = await bed.runtime({ handlers: handler.handlers });
    await bed.publish(before);
    await eventually(async () => handler.calls.length >= 5, 20_000, 'handling to begin');

    const killedAt = Date.now();
    await broker.kill();
    await sleep(3_000);
    await broker.start();
    const restartedAt = Date.now();
    await bed.publish(after);

    const all = [...before, ...after].map((event) => event.id).sort();
    await eventually(async () => (await processedEventIds(bed!.prisma, bed!.groupId)).length === all.length, 90_000, 'every event to be processed');
    expect((await processedEventIds(bed.prisma, bed.groupId)).sort()).toEqual(all);
    // Events handled while Kafka was down were recorded then; delivered again or not, their effects applied once.
    expect((await appliedEffects(bed.prisma, bed.groupId)).map((effect) => effect.eventId).sort()).toEqual(all);
    expect(handler.calls.some((call) => call.startedAt > killedAt && call.startedAt < restartedAt)).toBe(true);
    const committed = async () => (await Promise.all([0, 1, 2].map((partition) => bed!.committedOffset(bed!.sourceTopic, partition)))).reduce((sum, offset) => sum + offset, 0);
    await eventually(async () => (await committed()) === all.length, 30_000, 'the group to commit every offset');
    await runtime.stop();
  });
});
