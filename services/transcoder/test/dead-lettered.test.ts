import { ConsumerGroupRuntime } from '@video-pipeline/consumer';
import { toKafkaRecord } from '@video-pipeline/events';
import { createKafka, createProducer } from '@video-pipeline/kafka';
import { fastMembership, fastRetryPolicy, groupTopicSpecs, processedEventIds } from '../../../libs/consumer/test/support/harness';
import { MediaFixtures, h264, testPattern } from '../../../test/support/media-fixtures';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { createTopics, eventually, testLogger } from '../../../test/support/pipeline';
import { testConfig } from '../../../test/support/test-env';
import { transcoderHandlers } from '../src/handlers';
import { videoUploadedDeadLettered } from '../src/handlers/video-uploaded';

jest.setTimeout(120_000);

/** A loopback port of this test slot's range where nothing listens: every S3 request to it is refused. */
const DEAD_S3 = `http://127.0.0.1:${20_000 + 100 * Number(process.env.TEST_STACK_SLOT ?? 0) + 90}`;

/**
 * The transcoder on the real broker, database and S3 server, with storage
 * that keeps failing in a way that may not repeat: once its retries run out
 * the runtime parks the event, and the group's hook ends the stage as
 * failed and announces `video.transcode.failed`, once.
 */
describe('a transcode whose retries run out', () => {
  const fixtures = new MediaFixtures();
  const bed = new MediaTestbed('dead-lettered');
  const prefix = bed.config.kafka.topicPrefix;
  const kafka = createKafka(bed.config.kafka, testLogger());
  const producer = createProducer(kafka);
  let runtime: ConsumerGroupRuntime | undefined;

  beforeAll(async () => {
    await bed.start();
    await Promise.all([createTopics(kafka, prefix, groupTopicSpecs('transcoder')), producer.connect()]);
  });

  afterAll(async () => {
    await runtime?.stop();
    await producer.disconnect();
    await bed.close();
    await fixtures.remove();
  });

  it('ends the stage as failed with the last reason and publishes one failure event', async () => {
    const event = await bed.storeUpload(await fixtures.make('clip.mp4', [...testPattern('320x240', 1), ...h264]));
    const { videoId } = event.data;
    const config = testConfig(prefix, { S3_BUCKET: bed.storage.bucket, S3_ENDPOINT: DEAD_S3, MEDIA_TEMP_DIR: bed.tempDir });
    runtime = new ConsumerGroupRuntime({
      group: 'transcoder',
      handlers: transcoderHandlers({ config, prisma: bed.prisma, logger: testLogger() }),
      kafka,
      prisma: bed.prisma,
      logger: testLogger(),
      topicPrefix: prefix,
      retryPolicy: fastRetryPolicy,
      fetchMaxWaitMs: 100,
      ...fastMembership,
    });
    await runtime.start();
    await producer.send({ topic: `${prefix}video.uploaded`, acks: -1, messages: [toKafkaRecord(event, prefix)] });

    await eventually(async () => (await bed.stage(videoId, 'transcode'))?.status === 'failed', 60_000, 'the stage to end as failed');
    // One attempt on the event's own topic, one in each of the two retry tiers, then parked. The S3 client's
    // refused connection is a storage outage: `storage_unavailable`, retriable (the reason the dead letter carries too).
    expect(await bed.stage(videoId, 'transcode')).toMatchObject({ status: 'failed', attempts: 3, errorCode: 'storage_unavailable' });
    expect((await bed.stage(videoId, 'transcode'))!.errorMessage).toContain('ECONNREFUSED');
    const failures = await bed.published('video.transcode.failed', videoId);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ videoId, ownerId: 'alice', stage: 'transcode', reason: { code: 'storage_unavailable' } });
    expect(failures[0]!.startedAt).toBeDefined();
    // A required stage failed for good: the video's lifecycle ends with it, announced once.
    expect(await bed.prisma.video.findUnique({ where: { id: videoId }, select: { status: true } })).toEqual({ status: 'failed' });
    expect(await bed.published('video.failed', videoId)).toHaveLength(1);
    await eventually(async () => {
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(runtime!.deadLetterTopic).finally(() => admin.disconnect());
      return offsets.reduce((sum, partition) => sum + Number(partition.high), 0) === 1;
    }, 10_000, 'the event parked in the dead-letter topic');
    expect(await processedEventIds(bed.prisma, runtime.groupId)).toEqual([]); // parked, not processed: a replay runs it again
    expect(await bed.published('video.transcoded', videoId)).toEqual([]);
  });

  it('changes nothing when the same event is parked again (a replay that fails again)', async () => {
    const event = await bed.storeUpload(await fixtures.make('again.mp4', [...testPattern('320x240', 1), ...h264]));
    const { videoId } = event.data;
    const hook = videoUploadedDeadLettered(bed.deps('transcoder'));
    await bed.prisma.$transaction(hook(event, { code: 'storage_unavailable', message: 'the S3 server did not answer' }));
    await bed.prisma.$transaction(hook(event, { code: 'internal', message: 'something else' }));
    expect(await bed.stage(videoId, 'transcode')).toMatchObject({ status: 'failed', errorCode: 'storage_unavailable' });
    expect(await bed.published('video.transcode.failed', videoId)).toHaveLength(1);

    // A stage that succeeded stays so, and nothing is announced.
    const done = await bed.storeUpload(await fixtures.make('done.mp4', [...testPattern('320x240', 1), ...h264]));
    await bed.prisma.videoStage.create({ data: { videoId: done.data.videoId, stage: 'transcode', status: 'succeeded', progress: 100, attempts: 1 } });
    await bed.prisma.$transaction(hook(done, { code: 'internal', message: 'late' }));
    expect(await bed.stage(done.data.videoId, 'transcode')).toMatchObject({ status: 'succeeded' });
    expect(await bed.published('video.transcode.failed', done.data.videoId)).toEqual([]);
  });
});
