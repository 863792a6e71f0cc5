import { createKafka, topicSpecs } from '@video-pipeline/kafka';
import { makeVideo } from '../../../test/support/fixtures';
import { API_KEY, createTopics, eventually, startRelay, startUploadApi, testLogger, type RunningApi, type RunningRelay } from '../../../test/support/pipeline';
import { TcpProxy } from '../../../test/support/network';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { uploadFile } from '../../../test/support/upload-client';

jest.setTimeout(120_000);

/**
 * The relay reaches Postgres through a proxy that the test takes down and
 * brings back, as a database restart looks to it: its poll and its LISTEN
 * connection both break. The upload API keeps its own way in, so events
 * are committed to the outbox meanwhile.
 */
describe('the outbox relay while Postgres restarts', () => {
  const prefix = uniquePrefix('relay-db');
  const config = testConfig(prefix);
  const kafka = createKafka(config.kafka, testLogger());
  const databaseUrl = new URL(config.database.url);
  const proxy = new TcpProxy({ host: databaseUrl.hostname, port: Number(databaseUrl.port || 5432) });
  let api: RunningApi;
  let relay: RunningRelay;

  beforeAll(async () => {
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => spec.name === 'video.uploaded'));
    await proxy.up();
    const throughProxy = new URL(databaseUrl);
    throughProxy.port = String(proxy.port);
    api = await startUploadApi(config);
    relay = await startRelay(testConfig(prefix, { DATABASE_URL: throughProxy.toString() }), { pollIntervalMs: 30_000, backoff: { initialMs: 200, maxMs: 500, multiplier: 2, jitter: 0 } });
  });

  afterAll(async () => {
    await proxy.up().catch(() => undefined); // lets the relay's last batch and the listener end cleanly
    await relay?.close();
    await api?.close();
    await proxy.down();
  });

  const published = (ids: string[]) => api.prisma.outboxEvent.findMany({ where: { key: { in: ids }, publishedAt: { not: null } } });

  it('publishes what was committed while it could not listen, once, as soon as the database returns', async () => {
    const file = await makeVideo({ seconds: 1 });
    const upload = async (title: string) => (await uploadFile(api.baseUrl, API_KEY, { file: { path: file }, fields: { title } })).body.id as string;

    const before = await upload('before the restart');
    await eventually(async () => (await published([before])).length === 1, 10_000, 'the first event to be published');

    await proxy.down();
    const during = [await upload('during the restart 1'), await upload('during the restart 2')];
    // The listener retries meanwhile; its NOTIFYs for these two commits are lost with its connection.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await published(during)).toHaveLength(0);
    await proxy.up();

    // Well before the next poll (30 s): the listener, once reconnected, wakes the relay for what it missed.
    await eventually(async () => (await published(during)).length === 2, 10_000, 'the events committed meanwhile to be published');
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(`${prefix}video.uploaded`).finally(() => admin.disconnect());
    expect(offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0)).toBe(3);
  });
});
