import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { createPrismaClient } from '@video-pipeline/db';
import { createKafka, topicSpecs } from '@video-pipeline/kafka';
import { createTopics, eventually, startRelay, testLogger, type RunningRelay } from '../../../test/support/pipeline';
import { headersAsStrings, startProbeConsumer } from '../../../test/support/probe-consumer';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

// Few videos with many events each: a batch of 7 rows then holds several videos' events, and the
// next batch, claimed by another relay, holds their later ones.
const VIDEOS = 5;
const EVENTS_PER_VIDEO = 24;

/**
 * Three relays drain one outbox in small batches, so they constantly compete
 * for rows: each row is published exactly once, and each video's events keep
 * their outbox order even when its rows are claimed by different relays.
 */
describe('several outbox relays at once', () => {
  const prefix = uniquePrefix('relays');
  const config = testConfig(prefix);
  const topic = `${prefix}video.uploaded`;
  const kafka = createKafka(config.kafka, testLogger());
  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  let relays: RunningRelay[] = [];

  beforeAll(async () => {
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => spec.name === 'video.uploaded'));
  });
  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.close()));
    await prisma.$disconnect();
  });

  it('publish every row once, in order per video', async () => {
    const videos = Array.from({ length: VIDEOS }, () => randomUUID());
    // Rounds of one event per video, each round its own transaction, like state changes arriving over time.
    for (let sequence = 0; sequence < EVENTS_PER_VIDEO; sequence++) {
      await prisma.outboxEvent.createMany({
        data: videos.map((videoId) => ({
          id: randomUUID(),
          topic,
          key: videoId,
          type: 'video.uploaded',
          headers: { ce_type: 'video.uploaded', 'content-type': 'application/json' },
          payload: { videoId, sequence },
        })),
      });
    }
    // Each publish stalls a random while, so a relay holding a video's earlier rows is often
    // still publishing when another relay claims that video's later rows.
    const stalling = (producer: Producer): Producer =>
      Object.assign(Object.create(producer) as Producer, {
        sendBatch: async (batch: Parameters<Producer['sendBatch']>[0]) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
          return producer.sendBatch(batch);
        },
      });
    relays = await Promise.all([1, 2, 3].map(() => startRelay(config, { batchSize: 7, pollIntervalMs: 50, wrapProducer: stalling })));
    const total = VIDEOS * EVENTS_PER_VIDEO;
    await eventually(async () => (await prisma.outboxEvent.count({ where: { topic, publishedAt: null } })) === 0, 60_000, 'the outbox to drain');

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    expect(offsets.reduce((sum, partition) => sum + Number(partition.high), 0)).toBe(total);

    const probe = await startProbeConsumer(kafka, topic, `${prefix}probe`);
    try {
      await eventually(async () => probe.received.length === total, 30_000, `all ${total} records`);
      const sequences = new Map<string, number[]>();
      for (const record of probe.received) {
        const { videoId, sequence } = JSON.parse(record.message.value!.toString()) as { videoId: string; sequence: number };
        expect(record.message.key?.toString()).toBe(videoId);
        expect(headersAsStrings(record.message).ce_type).toBe('video.uploaded');
        sequences.set(videoId, [...(sequences.get(videoId) ?? []), sequence]);
      }
      expect(sequences.size).toBe(VIDEOS);
      const inOrder = Array.from({ length: EVENTS_PER_VIDEO }, (_, sequence) => sequence);
      for (const seen of sequences.values()) expect(seen).toEqual(inOrder);
    } finally {
      await probe.stop();
    }
  });
});
