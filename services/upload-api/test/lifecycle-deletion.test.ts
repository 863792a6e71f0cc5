import { videoDeletedV1 } from '@video-pipeline/events';
import { MediaFixtures, aac, h264, testPattern, tone } from '../../../test/support/media-fixtures';
import { API_KEY, OTHER_API_KEY, eventually } from '../../../test/support/pipeline';
import { LifecycleBed, openEventStream } from './lifecycle-support';

jest.setTimeout(120_000);

describe('deleting a video leaves no object, row or running work behind', () => {
  const fixtures = new MediaFixtures();
  const life = new LifecycleBed('deletion');

  beforeAll(() => life.start());
  afterAll(async () => {
    await life.close();
    await fixtures.remove();
  });

  async function leftovers(videoId: string) {
    const { prisma } = life.bed;
    return {
      objects: await life.bed.keys(`videos/${videoId}/`),
      videos: await prisma.video.count({ where: { id: videoId } }),
      stages: await prisma.videoStage.count({ where: { videoId } }),
      renditions: await prisma.videoRendition.count({ where: { videoId } }),
      ladders: await prisma.videoLadder.count({ where: { videoId } }),
      thumbnails: await prisma.videoThumbnails.count({ where: { videoId } }),
      moderation: await prisma.videoModeration.count({ where: { videoId } }),
      changes: (await prisma.videoChange.findMany({ where: { videoId } })).map((change) => (change.data as { type: string }).type),
    };
  }
  const nothingLeft = { objects: [], videos: 0, stages: 0, renditions: 0, ladders: 0, thumbnails: 0, moderation: 0, changes: ['deleted'] };

  it('removes a ready video\'s original, renditions, pictures and rows, announces it once, and answers 404 the second time', async () => {
    const file = await fixtures.make('clip.mp4', [...testPattern('320x240', 2), ...tone(2), ...h264, ...aac, '-shortest']);
    const { video, event } = await life.upload(file, { title: 'Bye' });
    await life.runAll(event);
    const ready = (await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY })).body;
    expect(ready.status).toBe('ready');
    expect(await life.bed.keys(`videos/${video.id}/`)).toEqual(
      expect.arrayContaining([`videos/${video.id}/original`, `videos/${video.id}/hls/master.m3u8`, `videos/${video.id}/thumbnails/storyboard.jpg`, expect.stringMatching(/\/hls\/240p\/.+\.m4s$/)]),
    );
    const watcher = openEventStream(`${life.api.baseUrl}/v1/videos/${video.id}/events`, { authorization: `Bearer ${API_KEY}`, 'last-event-id': '0' });
    await watcher.ended; // ready: the history, then the end

    expect((await life.request('DELETE', `/v1/videos/${video.id}`, { apiKey: OTHER_API_KEY })).status).toBe(404);
    const deleted = await life.request('DELETE', `/v1/videos/${video.id}`, { apiKey: API_KEY });
    expect([deleted.status, deleted.body]).toEqual([204, undefined]);
    expect(await leftovers(video.id)).toEqual(nothingLeft);
    const events = await life.published('video.deleted', video.id);
    expect(events).toHaveLength(1);
    expect(videoDeletedV1.parse(events[0])).toMatchObject({ videoId: video.id, ownerId: 'alice' });

    const again = await life.request('DELETE', `/v1/videos/${video.id}`, { apiKey: API_KEY });
    expect([again.status, again.body.error.code]).toEqual([404, 'not_found']);
    expect((await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY })).status).toBe(404);
    expect((await fetch(ready.playback.masterPlaylistUrl)).status).toBe(404);
    expect(await life.published('video.deleted', video.id)).toHaveLength(1);
  });

  it('keeps an idle watcher\'s stream alive with heartbeats, tells it the video was deleted, and ends it', async () => {
    const file = await fixtures.make('short.mp4', [...testPattern('320x240', 1), ...h264]);
    const { video } = await life.upload(file);
    const watcher = openEventStream(`${life.api.baseUrl}/v1/videos/${video.id}/events`, { authorization: `Bearer ${API_KEY}` });
    await eventually(async () => watcher.events.length > 0, 10_000, 'the first event');
    // Nothing happens to the video meanwhile: heartbeats keep the stream alive (every 0.2 s here).
    await eventually(async () => watcher.comments.filter((comment) => comment === 'heartbeat').length >= 2, 10_000, 'heartbeats');
    expect((await life.request('DELETE', `/v1/videos/${video.id}`, { apiKey: API_KEY })).status).toBe(204);
    await watcher.ended;
    expect(watcher.events.map((event) => event.event)).toEqual(['status', 'deleted']);
  });

  it('leaves nothing when deleted while it is being transcoded: the stage finds it gone and removes what it stored', async () => {
    const file = await fixtures.make('longer.mp4', [...testPattern('1280x720', 8), ...h264]);
    const { video, event } = await life.upload(file, { title: 'Long' });
    const transcoding = life.run('transcode', event);
    // Mid-run: the stage runs and the first segments are stored.
    await eventually(async () => (await life.bed.keys(`videos/${video.id}/hls/`)).length > 0, 60_000, 'the first segments');
    expect((await life.bed.prisma.videoStage.findFirst({ where: { videoId: video.id, stage: 'transcode' } }))?.status).toBe('running');
    expect((await life.request('DELETE', `/v1/videos/${video.id}`, { apiKey: API_KEY })).status).toBe(204);
    // The transcode finishes, finds the video gone and commits nothing.
    expect(await transcoding).toBe(false);
    // Stages that start later do nothing at all.
    expect(await life.run('thumbnails', event)).toBe(false);
    expect(await life.run('moderation', event)).toBe(false);
    expect(await leftovers(video.id)).toEqual(nothingLeft);
    expect(await life.published('video.transcoded', video.id)).toEqual([]);
    expect(await life.published('video.deleted', video.id)).toHaveLength(1);
  });
});
