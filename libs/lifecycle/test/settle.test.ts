import { randomUUID } from 'node:crypto';
import { createPrismaClient } from '@video-pipeline/db';
import { videoReadyV1 } from '@video-pipeline/events';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { applyStageOutcome, startStage, type LifecycleOptions, type StageName, type StageOutcome } from '../src';

describe('stage outcomes settle a video once, whatever their order and repetitions', () => {
  const config = testConfig(uniquePrefix('lifecycle'));
  const prisma = createPrismaClient({ databaseUrl: config.database.url, poolMax: 6 });
  const options: LifecycleOptions = { topicPrefix: config.kafka.topicPrefix, eventSource: '/video-pipeline/test' };
  const made: string[] = [];

  afterAll(async () => {
    await prisma.outboxEvent.deleteMany({ where: { key: { in: made } } });
    await prisma.video.deleteMany({ where: { id: { in: made } } });
    await prisma.videoChange.deleteMany({ where: { videoId: { in: made } } });
    await prisma.$disconnect();
  });

  async function newVideo(): Promise<string> {
    const id = randomUUID();
    made.push(id);
    await prisma.video.create({ data: { id, ownerId: 'alice', title: 'clip', bucket: 'b', objectKey: `videos/${id}/original`, sizeBytes: 1n, sha256: 'a'.repeat(64), contentType: 'video/mp4' } });
    return id;
  }

  const outcome = (id: string, stage: StageName, state: StageOutcome) => prisma.$transaction((tx) => applyStageOutcome(tx, id, stage, state, options));
  const terminalEvents = (id: string) => prisma.outboxEvent.findMany({ where: { key: id, type: { in: ['video.ready', 'video.rejected', 'video.failed'] } } });
  const status = async (id: string) => (await prisma.video.findUniqueOrThrow({ where: { id } })).status;

  async function withLadder(id: string) {
    await prisma.videoLadder.create({ data: { videoId: id, masterPlaylistKey: `videos/${id}/hls/master.m3u8`, durationSeconds: 2 } });
    await prisma.videoRendition.create({ data: { videoId: id, name: '240p', width: 426, height: 240, bandwidth: 1, averageBandwidth: 1, codecs: 'avc1', frameRate: 30, playlistKey: 'k' } });
  }

  it('goes processing when a stage starts, and ready once every stage agrees, with one video.ready', async () => {
    const id = await newVideo();
    await withLadder(id);
    expect(await startStage(prisma, id, 'transcode', new Date(), options)).toBe(true);
    expect(await status(id)).toBe('processing');
    await outcome(id, 'transcode', { status: 'succeeded', progress: 100 });
    await outcome(id, 'moderation', { status: 'approved' });
    expect(await status(id)).toBe('processing');
    await outcome(id, 'thumbnails', { status: 'succeeded', progress: 100 });
    expect(await status(id)).toBe('ready');
    const events = await terminalEvents(id);
    expect(events.map((event) => event.type)).toEqual(['video.ready']);
    expect(videoReadyV1.parse(events[0]!.payload)).toMatchObject({ videoId: id, masterPlaylistKey: `videos/${id}/hls/master.m3u8`, renditions: [{ name: '240p' }] });
  });

  it('ignores duplicated and late outcomes: no stage or status goes back, no second terminal event', async () => {
    const id = await newVideo();
    await withLadder(id);
    await outcome(id, 'moderation', { status: 'approved' });
    await outcome(id, 'thumbnails', { status: 'succeeded', progress: 100 });
    await outcome(id, 'transcode', { status: 'succeeded', progress: 100 });
    expect(await status(id)).toBe('ready');
    // Redeliveries, a late failure and a late start.
    expect(await outcome(id, 'transcode', { status: 'succeeded', progress: 100 })).toBe('unchanged');
    expect(await outcome(id, 'thumbnails', { status: 'failed', errorCode: 'media_undecodable', errorMessage: 'late' })).toBe('unchanged');
    expect(await outcome(id, 'moderation', { status: 'rejected' })).toBe('unchanged');
    expect(await startStage(prisma, id, 'transcode', new Date(), options)).toBe(false);
    expect(await status(id)).toBe('ready');
    expect(await prisma.videoStage.findMany({ where: { videoId: id }, orderBy: { stage: 'asc' } })).toEqual([
      expect.objectContaining({ stage: 'transcode', status: 'succeeded' }),
      expect.objectContaining({ stage: 'thumbnails', status: 'succeeded' }),
      expect.objectContaining({ stage: 'moderation', status: 'approved' }),
    ]);
    expect(await terminalEvents(id)).toHaveLength(1);
  });

  it('publishes one terminal event when the last stages end at the same moment', async () => {
    for (let round = 0; round < 5; round += 1) {
      const id = await newVideo();
      await withLadder(id);
      await outcome(id, 'moderation', { status: 'approved' });
      await Promise.all([
        outcome(id, 'transcode', { status: 'succeeded', progress: 100 }),
        outcome(id, 'thumbnails', { status: 'succeeded', progress: 100 }),
        outcome(id, 'thumbnails', { status: 'succeeded', progress: 100 }),
      ]);
      expect(await status(id)).toBe('ready');
      expect(await terminalEvents(id)).toHaveLength(1);
    }
  });

  it('fails with the stage and its reason, and a later rejection does not change it', async () => {
    const id = await newVideo();
    await outcome(id, 'transcode', { status: 'failed', errorCode: 'media_undecodable', errorMessage: 'truncated' });
    await outcome(id, 'moderation', { status: 'rejected' });
    expect(await status(id)).toBe('failed');
    const events = await terminalEvents(id);
    expect(events.map((event) => [event.type, event.payload])).toEqual([['video.failed', expect.objectContaining({ stage: 'transcode', reason: { code: 'media_undecodable', message: 'truncated' } })]]);
  });

  it('records nothing for a deleted video', async () => {
    const id = await newVideo();
    await prisma.video.delete({ where: { id } });
    expect(await outcome(id, 'transcode', { status: 'succeeded' })).toBe('gone');
    expect(await startStage(prisma, id, 'thumbnails', new Date(), options)).toBe(false);
    expect(await prisma.videoStage.count({ where: { videoId: id } })).toBe(0);
  });
});
