import sharp from 'sharp';
import { isBlurhashValid } from 'blurhash';
import { videoThumbnailsGeneratedV1 } from '@video-pipeline/events';
import { MediaFixtures, aac, h264, testPattern, tone } from '../../../test/support/media-fixtures';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { VideoRepository } from '../../upload-api/src/video-repository';
import { videoView } from '../../upload-api/src/video-view';
import { handleVideoUploaded, thumbnailsPrefix } from '../src/handlers/video-uploaded';

jest.setTimeout(90_000);

describe('the thumbnailer makes the pictures people see before they press play', () => {
  const fixtures = new MediaFixtures();
  const bed = new MediaTestbed('thumbs');
  const thumbnail = handleVideoUploaded(bed.deps('thumbnailer'));

  beforeAll(() => bed.start());
  afterAll(async () => {
    await bed.close();
    await fixtures.remove();
  });

  async function stored(key: string): Promise<{ bytes: Buffer; contentType: string | null }> {
    const response = await fetch(await bed.url(key));
    expect(response.status).toBe(200);
    return { bytes: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') };
  }

  async function generate(file: string) {
    const event = await bed.storeUpload(file);
    const { videoId } = event.data;
    expect(await bed.handle(thumbnail, event)).toBe(true);
    expect(await bed.stage(videoId, 'thumbnails')).toMatchObject({ status: 'succeeded', progress: 100, attempts: 1 });
    const [generated, ...more] = await bed.published('video.thumbnails.generated', videoId);
    expect(more).toEqual([]);
    return { event, videoId, generated: videoThumbnailsGeneratedV1.parse(generated) };
  }

  it('picks a poster that is not black from a video that starts black, in every size and both formats, with a placeholder', async () => {
    // 2 s of black, a fade in, then the pattern: the first frame, and the first of every second, are no poster.
    const file = await fixtures.make('black-start.mp4', [
      ...testPattern('1280x720', 6), ...tone(6),
      '-vf', 'drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable=lt(t\\,2),fade=t=in:st=2:d=1', ...h264, ...aac, '-shortest',
    ]);
    const { videoId, generated } = await generate(file);

    expect(generated.posterTimeSeconds).toBeGreaterThanOrEqual(3);
    expect(generated.posters.map((poster) => [poster.width, poster.height, poster.format])).toEqual([
      [1280, 720, 'webp'], [1280, 720, 'jpeg'], [640, 360, 'webp'], [640, 360, 'jpeg'], [320, 180, 'webp'], [320, 180, 'jpeg'],
    ]);
    for (const poster of generated.posters) {
      expect(poster.key.startsWith(thumbnailsPrefix(videoId))).toBe(true);
      const { bytes, contentType } = await stored(poster.key);
      expect(contentType).toBe(`image/${poster.format}`);
      const metadata = await sharp(bytes).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual([poster.format, poster.width, poster.height]);
      const { channels } = await sharp(bytes).stats();
      const brightness = channels.slice(0, 3).reduce((sum, channel) => sum + channel.mean, 0) / 3;
      expect(brightness).toBeGreaterThan(60);
    }
    expect(isBlurhashValid(generated.placeholder)).toEqual({ result: true });

    const video = await new VideoRepository(bed.prisma, { eventSource: 'test', topicPrefix: '' }).findForOwner('alice', videoId);
    const view = videoView(video!);
    expect(view.stages.thumbnails).toMatchObject({ status: 'succeeded', progress: 100 });
    expect(view.thumbnails).toMatchObject({ placeholder: generated.placeholder, posterTimeSeconds: generated.posterTimeSeconds, posters: generated.posters });
  });

  it('makes a storyboard whose WebVTT cues point inside its sprite, evenly spaced over the video', async () => {
    const file = await fixtures.make('storyboard-source.mp4', [...testPattern('640x360', 5), ...h264]);
    const { generated } = await generate(file);
    const { storyboard } = generated;

    const sprite = await stored(storyboard.spriteKey);
    expect(sprite.contentType).toBe('image/jpeg');
    const { width, height } = await sharp(sprite.bytes).metadata();
    expect([width, height]).toEqual([storyboard.columns * storyboard.tileWidth, storyboard.rows * storyboard.tileHeight]);

    const vtt = await stored(storyboard.vttKey);
    expect(vtt.contentType).toBe('text/vtt');
    const text = vtt.bytes.toString('utf8');
    expect(text.startsWith('WEBVTT\n\n')).toBe(true);
    const cues = [...text.matchAll(/^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\nstoryboard\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)].map((match) => {
      const seconds = (h: string, m: string, s: string, ms: string) => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
      return { start: seconds(match[1]!, match[2]!, match[3]!, match[4]!), end: seconds(match[5]!, match[6]!, match[7]!, match[8]!), x: Number(match[9]), y: Number(match[10]), w: Number(match[11]), h: Number(match[12]) };
    });
    expect(cues).toHaveLength(storyboard.tiles);
    expect(storyboard.tiles).toBe(5); // one a second
    for (const [index, cue] of cues.entries()) {
      expect([cue.w, cue.h]).toEqual([storyboard.tileWidth, storyboard.tileHeight]);
      expect(cue.x + cue.w).toBeLessThanOrEqual(width!);
      expect(cue.y + cue.h).toBeLessThanOrEqual(height!);
      expect(cue.start).toBeCloseTo(index * storyboard.intervalSeconds, 2);
      expect(cue.end).toBeGreaterThan(cue.start);
    }
    expect(new Set(cues.map((cue) => `${cue.x},${cue.y}`)).size).toBe(cues.length);
  });

  it('keeps a portrait phone clip upright and its aspect ratio', async () => {
    const landscape = await fixtures.make('phone.mp4', [...testPattern('640x360', 2), ...h264]);
    const rotated = await fixtures.make('phone-portrait.mov', ['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90']);
    const { event, videoId, generated } = await generate(rotated);
    expect(generated.posters.map((poster) => [poster.width, poster.height])).toEqual([[320, 569], [320, 569]]); // 360×640 shown, at 320 wide
    expect(generated.storyboard.tileHeight).toBeGreaterThan(generated.storyboard.tileWidth);

    // A redelivery finds the stage done: no effects, nothing stored again.
    const before = await bed.keys(thumbnailsPrefix(videoId));
    expect(await bed.handle(thumbnail, event)).toBe(false);
    expect(await bed.keys(thumbnailsPrefix(videoId))).toEqual(before);
    expect(await bed.published('video.thumbnails.generated', videoId)).toHaveLength(1);
  });

  it('refuses audio without video with a failure event, not a retry', async () => {
    const event = await bed.storeUpload(await fixtures.make('audio.mp4', [...tone(1), ...aac]));
    expect(await bed.handle(thumbnail, event)).toBe(true);
    expect(await bed.stage(event.data.videoId, 'thumbnails')).toMatchObject({ status: 'failed', errorCode: 'media_no_video_stream' });
    expect(await bed.published('video.thumbnails.failed', event.data.videoId)).toEqual([expect.objectContaining({ stage: 'thumbnails', reason: expect.objectContaining({ code: 'media_no_video_stream' }) })]);
    expect(await bed.keys(thumbnailsPrefix(event.data.videoId))).toEqual([]);
  });
});
