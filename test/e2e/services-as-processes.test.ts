import { createServer } from 'node:net';
import { consumerGroups, createKafka } from '@video-pipeline/kafka';
import { createPrismaClient } from '@video-pipeline/db';
import { Supervisor, type ServiceSpec } from '../../infra/pipeline/supervisor';
import { makeVideo } from '../support/fixtures';
import { createTopics, eventually, testLogger } from '../support/pipeline';
import { testConfig, uniquePrefix } from '../support/test-env';
import { getJson, uploadFile } from '../support/upload-client';

jest.setTimeout(120_000);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The services as `npm start` runs them: each its own process from its
 * `main.ts`, configured only through the environment, stopped by SIGTERM.
 */
describe('the services as separate processes', () => {
  const prefix = uniquePrefix('procs');
  const bucket = `procs-${Date.now().toString(36)}`;
  const config = testConfig(prefix, { S3_BUCKET: bucket });
  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  const logs: { name: string; line: string }[] = [];
  const supervisor = new Supervisor((name, line) => logs.push({ name, line }));
  let apiUrl: string;
  const metricsPorts: number[] = [];

  beforeAll(async () => {
    await createTopics(createKafka(config.kafka, testLogger()), prefix);
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const env = { ...process.env, KAFKA_TOPIC_PREFIX: prefix, S3_BUCKET: bucket, API_KEYS: 'proc-key:carol', PORT: String(apiPort), LOG_LEVEL: 'info' };
    const specs: ServiceSpec[] = [
      { name: 'upload-api', service: 'upload-api', env },
      { name: 'outbox-relay', service: 'outbox-relay', env },
    ];
    for (const group of consumerGroups) {
      const port = await freePort();
      metricsPorts.push(port);
      specs.push({ name: group, service: group, env: { ...env, METRICS_PORT: String(port) } });
    }
    for (const spec of specs) supervisor.start(spec);
    await eventually(async () => (await fetch(`${apiUrl}/readyz`)).ok, 60_000, 'the upload API to be ready');
    for (const port of metricsPorts) await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000, `worker on ${port} to be ready`);
  });

  afterAll(async () => {
    await supervisor.stop();
    await prisma.$disconnect();
  });

  it('carries an upload to every group, exposes metrics, and stops cleanly on SIGTERM', async () => {
    const upload = await uploadFile(apiUrl, 'proc-key', { file: { path: await makeVideo({ seconds: 1 }) } });
    expect(upload.status).toBe(201);
    expect((await getJson(apiUrl, `/v1/videos/${upload.body.id}`, 'proc-key')).body.id).toBe(upload.body.id);

    // The media groups do their real work (a ladder, pictures); the others still record a receipt.
    const receiptGroups = consumerGroups.filter((group) => group !== 'transcoder' && group !== 'thumbnailer');
    await eventually(
      async () => (await prisma.videoReceipt.count({ where: { videoId: upload.body.id, consumerGroup: { startsWith: prefix } } })) === receiptGroups.length,
      30_000,
      'every other group to record the video',
    );
    await eventually(
      async () => (await prisma.videoStage.count({ where: { videoId: upload.body.id, status: 'succeeded' } })) === 2,
      60_000,
      'the transcoder and the thumbnailer to finish the video',
    );
    const video = (await getJson(apiUrl, `/v1/videos/${upload.body.id}`, 'proc-key')).body;
    expect(video.stages).toMatchObject({ transcode: { status: 'succeeded', progress: 100 }, thumbnails: { status: 'succeeded', progress: 100 } });
    expect(video.renditions.map((rendition: { name: string; width: number; height: number }) => [rendition.name, rendition.width, rendition.height])).toEqual([['240p', 320, 240]]);
    expect(video.hls.masterPlaylistKey).toBe(`videos/${upload.body.id}/hls/master.m3u8`);
    expect(video.thumbnails.placeholder).toEqual(expect.any(String));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPorts[0]}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`pipeline_events_processed_total\\{group="${prefix.replace('.', '\\.')}transcoder",type="video.uploaded"\\} 1`));

    await supervisor.stop();
    const exits = Object.fromEntries(supervisor.exits);
    expect(Object.keys(exits).sort()).toEqual(['outbox-relay', 'upload-api', ...consumerGroups].sort());
    for (const [name, exit] of Object.entries(exits)) expect({ name, ...exit }).toEqual({ name, code: 0, signal: null });
    // Logs are JSON, and every line about an event carries its id, the video id and the group.
    const handled = logs
      .filter((entry) => entry.name === 'transcoder')
      .flatMap((entry) => (entry.line.startsWith('{') ? [JSON.parse(entry.line) as Record<string, unknown>] : []))
      .find((entry) => entry.msg === 'video uploaded');
    expect(handled).toMatchObject({ service: 'transcoder', group: `${prefix}transcoder`, videoId: upload.body.id, eventId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
});
