import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventCatalog, toKafkaRecord, type CloudEvent } from '@video-pipeline/events';
import { createKafka, createProducer, topicSpecs } from '@video-pipeline/kafka';
import { createTopics, eventually, testLogger } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { VideoStory } from '../../../test/support/video-events';

jest.setTimeout(120_000);

const MAIN = path.join(__dirname, '../src/main.ts');

/**
 * The analytics service as it runs (its `main`, on the real broker and
 * database): the pipeline's gauges are on the worker's own /metrics, the
 * health server at METRICS_PORT, beside the consumer runtime's figures.
 */
describe('the analytics worker’s /metrics', () => {
  const config = testConfig(uniquePrefix('analytics-worker'));
  const kafka = createKafka(config.kafka, testLogger());
  const producer = createProducer(kafka);
  let worker: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    const eventTopics = new Set<string>(Object.values(eventCatalog).map((entry) => entry.topic));
    await Promise.all([createTopics(kafka, config.kafka.topicPrefix, topicSpecs.filter((spec) => eventTopics.has(spec.name) || spec.name.startsWith('analytics.'))), producer.connect()]);
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await producer.disconnect();
  });

  it('serves the pipeline’s numbers and the consumer runtime’s metrics in one scrape', async () => {
    worker = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, MAIN], {
      env: { ...process.env, KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix, METRICS_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (chunk) => (output += chunk));
    worker.stderr!.on('data', (chunk) => (output += chunk));
    const port = await eventually(async () => /"healthPort":(\d+)/.exec(output)?.[1], 60_000, 'the worker to log its health port');

    const story = new VideoStory('carol', new Date());
    const events: CloudEvent[] = [story.uploaded(2_000_000), story.ready(30)];
    for (const event of events) {
      const { topic, ...message } = toKafkaRecord(event, config.kafka.topicPrefix);
      await producer.send({ topic, acks: -1, messages: [message] });
    }

    const scrape = await eventually(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        const text = await response.text();
        return response.status === 200 && text.includes('pipeline_analytics_video_outcomes{outcome="ready"} 1') ? text : undefined;
      },
      60_000,
      `the gauges to count the video (worker output: ${output.slice(-2_000)})`,
    );
    const lines = scrape.split('\n');
    const groupId = `${config.kafka.topicPrefix}analytics`;
    // The same scrape: the pipeline's numbers, from the facts the worker recorded ...
    expect(lines).toContain('pipeline_analytics_uploads 1');
    expect(lines).toContain('pipeline_analytics_upload_bytes 2000000');
    // ... and the consumer runtime's own figures for the events it handled (after their effects committed: the gauges may see a fact first).
    await eventually(async () => (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).includes(`pipeline_events_processed_total{group="${groupId}",type="video.ready"} 1`), 10_000, 'the ready event counted');
    expect(lines).toContain(`pipeline_events_processed_total{group="${groupId}",type="video.uploaded"} 1`);
    expect(lines.some((line) => line.startsWith('nodejs_version_info{'))).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    const exited = new Promise((resolve) => worker!.once('exit', (code, signal) => resolve({ code, signal })));
    worker.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
  });
});
