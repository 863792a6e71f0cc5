import { processedEventIds } from '../../../libs/consumer/test/support/harness';
import { MediaFixtures, h264, testPattern } from '../../../test/support/media-fixtures';
import { eventually } from '../../../test/support/pipeline';
import { videoUploadedDeadLettered } from '../src/handlers/video-uploaded';
import { TranscoderGroup } from './support/transcoder-group';

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
  const group = new TranscoderGroup('dead-lettered');
  const { bed } = group;

  beforeAll(() => group.start());

  afterAll(async () => {
    await group.close();
    await fixtures.remove();
  });

  it('ends the stage as failed with the last reason and publishes one failure event', async () => {
    const event = await bed.storeUpload(await fixtures.make('clip.mp4', [...testPattern('320x240', 1), ...h264]));
    const { videoId } = event.data;
    const runtime = await group.startInstance({ S3_ENDPOINT: DEAD_S3 });
    await group.publish(event);

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
      const admin = group.kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(runtime.deadLetterTopic).finally(() => admin.disconnect());
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
