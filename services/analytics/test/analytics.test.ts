import { Writable } from 'node:stream';
import type { Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { analyticsSummary, registerAnalyticsMetrics } from '@video-pipeline/analytics-queries';
import type { PipelineConfig } from '@video-pipeline/config';
import { ConsumerGroupRuntime, ConsumerMetrics } from '@video-pipeline/consumer';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { eventCatalog, toKafkaRecord, type CloudEvent } from '@video-pipeline/events';
import { createKafka, createProducer, topicSpecs } from '@video-pipeline/kafka';
import { runOps } from '../../../tools/ops/src/main';
import { analyticsHandlers } from '../src/handlers';
import { compareWithLive, discardRebuild, rebuildAnalytics } from '../src/rebuild';
import { ADMIN_API_KEY, API_KEY, createTopics, eventually, startUploadApi, testLogger, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { VideoStory } from '../../../test/support/video-events';

const DAY1 = new Date('2026-11-03T10:00:00Z');
const DAY2 = new Date('2026-11-04T23:59:00Z');

/** A known month: four of alice's videos and two of bob's, their outcomes and failures, and copies of some events. */
function knownEvents(): { events: CloudEvent[]; copies: CloudEvent[] } {
  const a1 = new VideoStory('alice', DAY1);
  const a2 = new VideoStory('alice', DAY1);
  const a3 = new VideoStory('alice', DAY2);
  const a4 = new VideoStory('alice', DAY2);
  const b1 = new VideoStory('bob', DAY1);
  const b2 = new VideoStory('bob', DAY2);
  const events: CloudEvent[] = [
    // a1: ready in 40 s; transcode took 10 s of 60 s of source, thumbnails 2 s.
    a1.uploaded(1_000_000), a1.transcoded(1, 10, 60), a1.thumbnailsGenerated(1, 2), a1.moderated(20, 'approved'), a1.ready(40),
    // a2: refused by the transcoder (took 5 s), so it failed.
    a2.uploaded(2_000_000), a2.transcodeFailed(1, 5, 'media_undecodable'), a2.thumbnailsGenerated(1, 4), a2.moderated(20, 'approved'), a2.failed(21, 'transcode', 'media_undecodable'),
    // a3 (day 2, one minute before midnight; its ladder is done the next day): ready in 100 s.
    a3.uploaded(3_000_000), a3.transcoded(2, 90, 120), a3.thumbnailsGenerated(2, 6), a3.moderated(50, 'approved'), a3.ready(100),
    // a4: uploaded only, still being processed.
    a4.uploaded(4_000_000),
    // b1: transcoded in 20 s, no pictures, rejected.
    b1.uploaded(500_000), b1.transcoded(1, 20, 30), b1.thumbnailsFailed(1, 3, 'media_processing_failed'), b1.moderated(15, 'rejected'), b1.rejected(15),
    // b2: waits for a reviewer.
    b2.uploaded(700_000), b2.transcoded(1, 40, 90), b2.moderated(45, 'needs_review'),
  ];
  // Copies as a redelivery or a second publication would bring them.
  return { events, copies: [events[0]!, events[1]!, events[7]!, events[20]!] };
}

describe('pipeline analytics (group analytics, real broker and database)', () => {
  let config: PipelineConfig;
  let kafka: Kafka;
  let producer: Producer;
  let prisma: PrismaClient;
  let runtime: ConsumerGroupRuntime;
  let api: RunningApi;
  const known = knownEvents();

  const publish = async (events: CloudEvent[]) => {
    for (const event of events) {
      const { topic, ...message } = toKafkaRecord(event, config.kafka.topicPrefix);
      await producer.send({ topic, acks: -1, messages: [message] });
    }
  };
  const summaryFor = async (key: string, query: string) => {
    const response = await fetch(`${api.baseUrl}/v1/analytics/summary?${query}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    config = testConfig(uniquePrefix('analytics'));
    kafka = createKafka(config.kafka, testLogger(), { retry: { initialRetryTime: 100, retries: 8 } });
    producer = createProducer(kafka);
    prisma = createPrismaClient({ databaseUrl: config.database.url, poolMax: 4 });
    const eventTopics = new Set<string>(Object.values(eventCatalog).map((entry) => entry.topic));
    await Promise.all([createTopics(kafka, config.kafka.topicPrefix, topicSpecs.filter((spec) => eventTopics.has(spec.name) || spec.name.startsWith('analytics.'))), producer.connect()]);
    runtime = new ConsumerGroupRuntime({
      group: 'analytics',
      kafka,
      prisma,
      logger: testLogger(),
      topicPrefix: config.kafka.topicPrefix,
      metrics: new ConsumerMetrics(),
      fetchMaxWaitMs: 100,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      handlers: analyticsHandlers,
    });
    await runtime.start();
    api = await startUploadApi(config);
    await publish([...known.events, ...known.copies]);
    await eventually(async () => (await prisma.analyticsFact.count({ where: { consumerGroup: runtime.groupId } })) === known.events.length, 30_000, 'every event counted');
  });
  afterAll(async () => {
    await runtime?.stop();
    await Promise.allSettled([api?.close(), producer?.disconnect(), prisma?.$disconnect()]);
  });

  const window = `from=${encodeURIComponent('2026-11-01T00:00:00Z')}&to=${encodeURIComponent('2026-12-01T00:00:00Z')}`;

  it('gives an owner their numbers: volume per day, stages, failures by reason, upload to ready, moderation', async () => {
    const { status, body } = await summaryFor(API_KEY, window);
    expect(status).toBe(200);
    expect(body.ownerId).toBe('alice');
    expect(body.uploads).toEqual({ uploads: 4, bytes: 10_000_000, sourceMinutes: 3 });
    expect(body.days).toEqual([
      { day: '2026-11-03', uploads: 2, bytes: 3_000_000, sourceMinutes: 1 },
      { day: '2026-11-04', uploads: 2, bytes: 7_000_000, sourceMinutes: 0 },
      { day: '2026-11-05', uploads: 0, bytes: 0, sourceMinutes: 2 },
    ]);
    expect(body.owners).toEqual([{ ownerId: 'alice', uploads: 4, bytes: 10_000_000, sourceMinutes: 3 }]);
    expect(body.stages).toEqual([
      { stage: 'thumbnails', succeeded: 3, failed: 0, failureRate: 0, failuresByReason: [], processingSeconds: { count: 3, p50: 4, p95: 5.8, p99: 5.96 } },
      { stage: 'transcode', succeeded: 2, failed: 1, failureRate: 1 / 3, failuresByReason: [{ code: 'media_undecodable', count: 1 }], processingSeconds: { count: 2, p50: 50, p95: 86, p99: 89.2 } },
    ]);
    expect(body.uploadToReadySeconds).toEqual({ count: 2, p50: 70, p95: 97, p99: 99.4 });
    expect(body.moderation).toEqual({ approved: 3, rejected: 0, needs_review: 0 });
    expect(body.outcomes).toEqual({ ready: 2, rejected: 0, failed: 1, deleted: 0, failedByReason: [{ stage: 'transcode', code: 'media_undecodable', count: 1 }] });
  });

  it('gives an admin every owner\'s numbers, or one owner\'s', async () => {
    const { body } = await summaryFor(ADMIN_API_KEY, window);
    expect(body.ownerId).toBeNull();
    expect(body.uploads).toEqual({ uploads: 6, bytes: 11_200_000, sourceMinutes: 5 });
    expect(body.owners).toEqual([
      { ownerId: 'alice', uploads: 4, bytes: 10_000_000, sourceMinutes: 3 },
      { ownerId: 'bob', uploads: 2, bytes: 1_200_000, sourceMinutes: 2 },
    ]);
    const thumbnails = body.stages.find((stage: { stage: string }) => stage.stage === 'thumbnails');
    expect(thumbnails).toMatchObject({ succeeded: 3, failed: 1, failureRate: 0.25, failuresByReason: [{ code: 'media_processing_failed', count: 1 }] });
    expect(body.moderation).toEqual({ approved: 3, rejected: 1, needs_review: 1 });
    expect(body.outcomes).toMatchObject({ ready: 2, rejected: 1, failed: 1 });
    expect((await summaryFor(ADMIN_API_KEY, `${window}&owner=bob`)).body.owners).toEqual([{ ownerId: 'bob', uploads: 2, bytes: 1_200_000, sourceMinutes: 2 }]);
  });

  it('counts events by their time within the window', async () => {
    const day1 = await summaryFor(API_KEY, `from=${encodeURIComponent('2026-11-03T00:00:00Z')}&to=${encodeURIComponent('2026-11-04T00:00:00Z')}`);
    expect(day1.body.uploads).toEqual({ uploads: 2, bytes: 3_000_000, sourceMinutes: 1 });
    const empty = await summaryFor(API_KEY, `from=${encodeURIComponent('2025-01-01T00:00:00Z')}&to=${encodeURIComponent('2025-02-01T00:00:00Z')}`);
    expect(empty.body).toMatchObject({ uploads: { uploads: 0, bytes: 0, sourceMinutes: 0 }, days: [], stages: [], uploadToReadySeconds: { count: 0, p50: null } });
  });

  it('refuses a bad window, and another owner\'s numbers to an owner', async () => {
    expect((await summaryFor(API_KEY, 'from=yesterday')).body.error).toMatchObject({ code: 'invalid_request', details: { in: 'query', parameter: 'from' } });
    expect((await summaryFor(API_KEY, `from=${encodeURIComponent('2026-12-01T00:00:00Z')}&to=${encodeURIComponent('2026-11-01T00:00:00Z')}`)).status).toBe(400);
    expect((await summaryFor(API_KEY, `${window}&owner=bob`)).status).toBe(403);
    expect((await summaryFor('no-such-key', window)).status).toBe(401);
  });

  it('serves the numbers as Prometheus gauges', async () => {
    const registry = new Registry();
    registerAnalyticsMetrics(registry, prisma, runtime.groupId, () => DAY2.getTime() + 60 * 60 * 1000);
    const text = await registry.metrics();
    expect(text).toContain('pipeline_analytics_uploads 6');
    expect(text).toContain('pipeline_analytics_upload_bytes 11200000');
    expect(text).toContain('pipeline_analytics_stage_failures{stage="thumbnails",reason="media_processing_failed"} 1');
    expect(text).toContain('pipeline_analytics_moderation_decisions{decision="needs_review"} 1');
    // Over the 24 hours before DAY2 + 1 h: a3's ready (100 s) only.
    expect(text).toContain('pipeline_analytics_upload_to_ready_seconds{quantile="0.99"} 100');
  });

  it('rebuilds the same numbers by replaying the topics from the beginning into a fresh group', async () => {
    const groupId = `${config.kafka.topicPrefix}analytics.rebuild.${Date.now()}`;
    const result = await rebuildAnalytics({ kafka, prisma, logger: testLogger(), topicPrefix: config.kafka.topicPrefix, groupId });
    try {
      expect(result).toEqual({ groupId, events: known.events.length, malformed: 0 });
      const comparison = await compareWithLive(prisma, runtime.groupId, groupId);
      expect(comparison.differences).toEqual([]);
      expect(comparison.identical).toBe(true);
      expect(comparison.rebuilt).toEqual(await analyticsSummary(prisma, { factsOf: runtime.groupId }));
      // Live numbers that lost an event are told apart.
      const lost = await prisma.analyticsFact.findFirstOrThrow({ where: { consumerGroup: runtime.groupId, eventType: 'video.ready' } });
      await prisma.analyticsFact.delete({ where: { consumerGroup_eventId: { consumerGroup: lost.consumerGroup, eventId: lost.eventId } } });
      try {
        const lossy = await compareWithLive(prisma, runtime.groupId, groupId);
        expect(lossy.identical).toBe(false);
        expect(lossy.differences).toContain('outcomes.ready: 1 ≠ 2');
      } finally {
        await prisma.analyticsFact.create({ data: lost });
      }
    } finally {
      await discardRebuild(prisma, groupId);
    }
    expect(await prisma.analyticsFact.count({ where: { consumerGroup: groupId } })).toBe(0);
  });

  it('has an ops command that rebuilds, compares, says identical, and leaves nothing behind', async () => {
    let stdout = '';
    const sink = (append: (text: string) => void) => new Writable({ write: (chunk, _encoding, done) => (append(String(chunk)), done()) });
    const code = await runOps(['analytics-rebuild', '--json'], { ...process.env, KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix }, { stdout: sink((text) => (stdout += text)), stderr: sink(() => undefined) });
    const report = JSON.parse(stdout);
    expect(code).toBe(0);
    expect(report).toMatchObject({ events: known.events.length, malformed: 0, identical: true, differences: [], liveGroupId: runtime.groupId });
    expect(report.numbers.uploads).toEqual({ uploads: 6, bytes: 11_200_000, sourceMinutes: 5 });
    expect(await prisma.analyticsFact.count({ where: { consumerGroup: report.groupId } })).toBe(0);
    expect(await prisma.processedEvent.count({ where: { consumerGroup: report.groupId } })).toBe(0);
  });
});
