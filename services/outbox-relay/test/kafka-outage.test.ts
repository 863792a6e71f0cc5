import { createKafka, topicSpecs } from '@video-pipeline/kafka';
import { makeVideo } from '../../../test/support/fixtures';
import { API_KEY, createTopics, eventually, startRelay, startUploadApi, testLogger, type RunningApi, type RunningRelay } from '../../../test/support/pipeline';
import { ownBroker } from '../../../test/support/own-broker';
import { startProbeConsumer } from '../../../test/support/probe-consumer';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { uploadFile } from '../../../test/support/upload-client';

jest.setTimeout(180_000);

/**
 * Runs on a broker of its own, because it stops it: uploads go on while
 * Kafka is down, and every event arrives exactly once after it returns.
 */
describe('while Kafka is down', () => {
  const { broker, start: startFreshBroker } = ownBroker('outage', 19_300);
  const prefix = uniquePrefix('outage');
  const config = testConfig(prefix, { KAFKA_BROKERS: broker.brokers.join(','), S3_BUCKET: `outage-${Date.now().toString(36)}` });
  const kafka = createKafka(config.kafka, testLogger());
  let api: RunningApi;
  let relay: RunningRelay;

  beforeAll(async () => {
    await startFreshBroker();
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => spec.name === 'video.uploaded'));
    api = await startUploadApi(config);
    relay = await startRelay(config, { pollIntervalMs: 200, backoff: { initialMs: 200, maxMs: 500, multiplier: 2, jitter: 0 } });
  });

  afterAll(async () => {
    await relay?.close();
    await api?.close();
    await broker.stop();
  });

  it('uploads still succeed, events wait in the outbox, and all arrive once after the broker returns', async () => {
    await broker.stop();
    const file = await makeVideo({ seconds: 1 });
    const uploads = [];
    for (let i = 0; i < 3; i++) uploads.push(await uploadFile(api.baseUrl, API_KEY, { file: { path: file }, fields: { title: `during outage ${i}` } }));
    expect(uploads.map((u) => u.status)).toEqual([201, 201, 201]);
    const ids = uploads.map((u) => u.body.id as string);

    // The relay keeps trying and failing; the rows stay unpublished, with the failure recorded.
    const waiting = await eventually(async () => {
      const rows = await api.prisma.outboxEvent.findMany({ where: { key: { in: ids } } });
      return rows.length === 3 && rows.every((row) => row.publishedAt === null && row.publishAttempts > 0) && rows;
    }, 30_000, 'failed publish attempts to be recorded');
    expect(waiting.every((row) => row.lastError)).toBe(true);

    await broker.start();
    const published = await eventually(async () => {
      const rows = await api.prisma.outboxEvent.findMany({ where: { key: { in: ids } } });
      return rows.every((row) => row.publishedAt !== null) && rows;
    }, 60_000, 'the outbox to drain after the broker restart');
    expect(published).toHaveLength(3);

    // Exactly three records were written to the topic: none lost, none published twice.
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(`${prefix}video.uploaded`).finally(() => admin.disconnect());
    expect(offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0)).toBe(3);

    const probe = await startProbeConsumer(kafka, `${prefix}video.uploaded`, `${prefix}probe`);
    try {
      await eventually(async () => probe.received.length >= 3, 30_000, 'three events on the topic');
      const keys = probe.received.map((record) => record.message.key?.toString()).sort();
      expect(keys).toEqual([...ids].sort());
    } finally {
      await probe.stop();
    }
  });
});
