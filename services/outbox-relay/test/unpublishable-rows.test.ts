import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createPrismaClient } from '@video-pipeline/db';
import { createKafka, topicSpecs } from '@video-pipeline/kafka';
import { createTopics, eventually, startRelay, testLogger, type RunningRelay } from '../../../test/support/pipeline';
import { startProbeConsumer } from '../../../test/support/probe-consumer';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

/** Rows of a topic the relay counted as parked (rows other tests left may be counted under their own topics). */
async function parkedCount(registry: Registry, topic: string): Promise<number> {
  const { values } = await registry.getSingleMetric('pipeline_outbox_events_parked_total')!.get();
  return values.find((value) => value.labels.topic === topic)?.value ?? 0;
}

/**
 * A row whose topic does not exist (and which the relay may not create) can
 * never be published: the relay parks it, says why, and goes on with the
 * rows after it, keeping each video's order for the rest.
 */
describe('an outbox row the relay can never publish', () => {
  const prefix = uniquePrefix('parked');
  const config = testConfig(prefix);
  const topic = `${prefix}video.uploaded`;
  const missingTopic = `${prefix}video.nowhere`;
  const kafka = createKafka(config.kafka, testLogger());
  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  let relay: RunningRelay | undefined;

  beforeAll(async () => {
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => spec.name === 'video.uploaded'));
  });
  afterAll(async () => {
    await relay?.close();
    await prisma.outboxEvent.deleteMany({ where: { topic: missingTopic } });
    await prisma.$disconnect();
  });

  const row = (videoId: string, sequence: number, to = topic) => ({
    id: randomUUID(),
    topic: to,
    key: videoId,
    type: 'video.uploaded',
    headers: { ce_type: 'video.uploaded', 'content-type': 'application/json' },
    payload: { videoId, sequence },
  });

  it('is parked with its reason, and the rows after it, of its video too, are published in order', async () => {
    const [stuck, other] = [randomUUID(), randomUUID()];
    // Each in its own transaction, in this order: the second row of `stuck` can never be published.
    const rows = [row(stuck, 0), row(other, 0), row(stuck, 1, missingTopic), row(stuck, 2), row(other, 1), row(stuck, 3)];
    for (const data of rows) await prisma.outboxEvent.create({ data });

    const registry = new Registry();
    relay = await startRelay(config, { pollIntervalMs: 50, registry });
    await eventually(async () => (await prisma.outboxEvent.count({ where: { topic, publishedAt: null } })) === 0, 20_000, 'the publishable rows to be published');

    const parkedRow = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: rows[2]!.id } });
    expect(parkedRow.publishedAt).toBeNull();
    expect(parkedRow.lastError).toContain(`topic ${missingTopic} does not exist`);
    expect(await prisma.outboxParked.findMany({ where: { topic: missingTopic } })).toEqual([
      expect.objectContaining({ position: parkedRow.position, topic: missingTopic, reason: `topic ${missingTopic} does not exist; the relay does not create topics` }),
    ]);
    expect(await parkedCount(registry, missingTopic)).toBe(1);

    // Each video's publishable events arrive in outbox order; the parked one is not among them.
    const probe = await startProbeConsumer(kafka, topic, `${prefix}probe`);
    try {
      await eventually(async () => probe.received.length === 5, 20_000, 'five records');
      const sequences = (videoId: string) =>
        probe.received.map((record) => JSON.parse(record.message.value!.toString()) as { videoId: string; sequence: number }).filter((event) => event.videoId === videoId).map((event) => event.sequence);
      expect(sequences(stuck)).toEqual([0, 2, 3]);
      expect(sequences(other)).toEqual([0, 1]);
    } finally {
      await probe.stop();
    }

    // It stays parked: later rows go on, and the parked one is not tried again.
    const later = row(stuck, 4);
    await prisma.outboxEvent.create({ data: later });
    await eventually(async () => (await prisma.outboxEvent.findUniqueOrThrow({ where: { id: later.id } })).publishedAt !== null, 20_000, 'a later row to be published');
    expect((await prisma.outboxEvent.findUniqueOrThrow({ where: { id: rows[2]!.id } })).publishAttempts).toBe(1);
    expect(await parkedCount(registry, missingTopic)).toBe(1);
    await relay.close();
    relay = undefined;
  });

  it('parks a row the broker refuses for good (larger than it accepts), and publishes the rest of its batch in order', async () => {
    const video = randomUUID();
    const huge = { ...row(video, 1), payload: { videoId: video, sequence: 1, padding: 'x'.repeat(1_200_000) } }; // over the broker's 1 MB message.max.bytes
    const rows = [row(video, 0), huge, row(video, 2)];
    for (const data of rows) await prisma.outboxEvent.create({ data });

    const registry = new Registry();
    relay = await startRelay(config, { pollIntervalMs: 50, registry });
    await eventually(async () => (await prisma.outboxEvent.findUniqueOrThrow({ where: { id: rows[2]!.id } })).publishedAt !== null, 20_000, 'the row after the huge one to be published');

    const parkedRow = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: huge.id } });
    expect(parkedRow.publishedAt).toBeNull();
    const [parked] = await prisma.outboxParked.findMany({ where: { position: parkedRow.position } });
    expect(parked?.reason).toMatch(/^the broker refuses it for good: .*larger than the max message size/);
    expect(await parkedCount(registry, topic)).toBe(1);

    const probe = await startProbeConsumer(kafka, topic, `${prefix}probe-huge`);
    try {
      await eventually(async () => probe.received.some((record) => record.message.key?.toString() === video && JSON.parse(record.message.value!.toString()).sequence === 2), 20_000, 'the video’s records');
      const sequences = probe.received
        .filter((record) => record.message.key?.toString() === video)
        .map((record) => (JSON.parse(record.message.value!.toString()) as { sequence: number }).sequence);
      // Its first row may come twice (sent in the refused batch, then alone): never after the later one, never the huge one.
      expect([...new Set(sequences)]).toEqual([0, 2]);
      expect(sequences.lastIndexOf(0)).toBeLessThan(sequences.indexOf(2));
    } finally {
      await probe.stop();
    }
  });
});
