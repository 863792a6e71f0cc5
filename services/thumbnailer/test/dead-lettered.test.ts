import type { HandlerWithDeadLetters } from '@video-pipeline/consumer';
import { MediaFixtures, h264, testPattern } from '../../../test/support/media-fixtures';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { testLogger } from '../../../test/support/pipeline';
import { thumbnailerHandlers } from '../src/handlers';

/**
 * The thumbnailer declares, next to its `video.uploaded` handler, what a
 * dead letter of it records: the thumbnails stage ends as failed with the
 * reason, and `video.thumbnails.failed` is announced once. (The runtime
 * running the hook when it parks an event is tested with the transcoder.)
 */
describe('a thumbnails job whose retries ran out', () => {
  const fixtures = new MediaFixtures();
  const bed = new MediaTestbed('thumbs-dead-lettered');

  beforeAll(() => bed.start());
  afterAll(async () => {
    await bed.close();
    await fixtures.remove();
  });

  it('ends the stage as failed and publishes one failure event, however often it is parked', async () => {
    const event = await bed.storeUpload(await fixtures.make('clip.mp4', [...testPattern('320x240', 1), ...h264]));
    const { videoId } = event.data;
    const entry = thumbnailerHandlers({ config: bed.config, prisma: bed.prisma, logger: testLogger() })['video.uploaded'] as HandlerWithDeadLetters<'video.uploaded'>;
    expect(typeof entry.handle).toBe('function');

    await bed.prisma.$transaction(entry.deadLettered(event, { code: 'media_processing_failed', message: 'ffmpeg was killed' }));
    await bed.prisma.$transaction(entry.deadLettered(event, { code: 'internal', message: 'again' }));

    expect(await bed.stage(videoId, 'thumbnails')).toMatchObject({ status: 'failed', errorCode: 'media_processing_failed', errorMessage: 'ffmpeg was killed' });
    const failures = await bed.published('video.thumbnails.failed', videoId);
    expect(failures).toEqual([expect.objectContaining({ videoId, stage: 'thumbnails', reason: { code: 'media_processing_failed', message: 'ffmpeg was killed' } })]);
    expect(await bed.published('video.thumbnails.generated', videoId)).toEqual([]);
  });
});
