import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { videoTranscodedV1 } from '@video-pipeline/events';
import { MediaFixtures, aac, ffprobeJson, h264, keyframeTimes, testPattern, tone } from '../../../test/support/media-fixtures';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { VideoRepository } from '../../upload-api/src/video-repository';
import { videoView } from '../../upload-api/src/video-view';
import { handleVideoUploaded, hlsPrefix } from '../src/handlers/video-uploaded';

jest.setTimeout(120_000);
const run = promisify(execFile);

/** A rung as the test expects it: name, width, height. */
type Expected = [string, number, number];

describe('the transcoder makes an HLS ladder any browser plays', () => {
  const fixtures = new MediaFixtures();
  const bed = new MediaTestbed('ladder');
  const transcode = handleVideoUploaded(bed.deps('transcoder'));

  beforeAll(() => bed.start());
  afterAll(async () => {
    await bed.close();
    await fixtures.remove();
  });

  /** Transcodes a source and checks everything a player relies on; returns the stored master playlist's text. */
  async function expectLadder(file: string, expected: Expected[], options: { audio: boolean; frameRate?: number }) {
    const event = await bed.storeUpload(file);
    const { videoId } = event.data;
    expect(await bed.handle(transcode, event)).toBe(true);

    // The stage, the renditions and the announcement are recorded together.
    expect(await bed.stage(videoId, 'transcode')).toMatchObject({ status: 'succeeded', progress: 100, attempts: 1, errorCode: null });
    const rows = await bed.prisma.videoRendition.findMany({ where: { videoId } });
    expect(rows.map((row) => [row.name, row.width, row.height]).sort()).toEqual([...expected].sort());
    const [announced, ...more] = await bed.published('video.transcoded', videoId);
    expect(more).toEqual([]);
    expect(videoTranscodedV1.parse(announced)).toMatchObject({ videoId, masterPlaylistKey: `${hlsPrefix(videoId)}master.m3u8` });
    expect(announced!.renditions.map((rung) => [rung.name, rung.width, rung.height])).toEqual(expected);

    const master = await fetch(await bed.url(announced!.masterPlaylistKey));
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const masterText = await master.text();
    const keyframes: number[][] = [];
    for (const [index, rung] of announced!.renditions.entries()) {
      const [name, width, height] = expected[index]!;
      // The master announces what a player chooses by.
      expect(masterText).toContain(`BANDWIDTH=${rung.bandwidth},AVERAGE-BANDWIDTH=${rung.averageBandwidth},CODECS="${rung.codecs}",RESOLUTION=${width}x${height},FRAME-RATE=${rung.frameRate.toFixed(3)}\n${name}/index.m3u8`);
      expect(rung.bandwidth).toBeGreaterThanOrEqual(rung.averageBandwidth);
      expect(rung.codecs).toMatch(options.audio ? /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/ : /^avc1\.[0-9a-f]{6}$/);
      if (options.frameRate !== undefined) expect(rung.frameRate).toBe(options.frameRate);

      // Each rung, read back through its own playlist: H.264 8-bit 4:2:0 at its size, High profile but for the lowest (Main), AAC stereo.
      const playlist = await bed.url(rung.playlistKey);
      const { streams } = await ffprobeJson(playlist, ['-show_streams']);
      const video = streams.find((stream: { codec_type: string }) => stream.codec_type === 'video');
      expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width, height, profile: index === expected.length - 1 ? 'Main' : 'High' });
      const audio = streams.filter((stream: { codec_type: string }) => stream.codec_type === 'audio');
      expect(audio.map((stream: { codec_name: string; channels: number }) => [stream.codec_name, stream.channels])).toEqual(options.audio ? [['aac', 2]] : []);
      keyframes.push(await keyframeTimes(playlist));
    }
    // Keyframes at the same times on every rung (every 2 s from 0): a player can switch at any segment.
    expect(keyframes[0]!.length).toBeGreaterThan(0);
    for (const times of keyframes) expect(times).toEqual(keyframes[0]);
    expect(keyframes[0]!.every((time) => Math.abs(time / 2 - Math.round(time / 2)) < 0.05)).toBe(true);

    const keys = await bed.keys(hlsPrefix(videoId));
    const segment = keys.find((key) => key.endsWith('.m4s'))!;
    expect((await fetch(await bed.url(segment))).headers.get('content-type')).toBe('video/iso.segment');
    expect((await fetch(await bed.url(keys.find((key) => key.includes('/init'))!))).headers.get('content-type')).toBe('video/mp4');

    // The whole ladder plays end to end from the master playlist, every rung.
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', await bed.url(announced!.masterPlaylistKey), '-map', '0', '-f', 'null', '-']);
    return { videoId, announced: announced! };
  }

  it('gives a landscape 1080p source every rung from 1080p to 240p, shown on the video', async () => {
    const file = await fixtures.make('landscape-1080p.mp4', [...testPattern('1920x1080', 2), ...tone(2), ...h264, ...aac, '-shortest']);
    const { videoId, announced } = await expectLadder(
      file,
      [
        ['1080p', 1920, 1080],
        ['720p', 1280, 720],
        ['480p', 854, 480],
        ['360p', 640, 360],
        ['240p', 426, 240],
      ],
      { audio: true, frameRate: 30 },
    );
    expect(announced.durationSeconds).toBeCloseTo(2, 0);

    const video = await new VideoRepository(bed.prisma, { eventSource: 'test', topicPrefix: '' }).findForOwner('alice', videoId);
    const view = videoView(video!);
    expect(view.stages.transcode).toMatchObject({ status: 'succeeded', progress: 100, error: null });
    expect(view.stages.thumbnails).toMatchObject({ status: 'pending', progress: 0 });
    expect(view.renditions.map((rung) => [rung.name, rung.width, rung.height])).toEqual(announced.renditions.map((rung) => [rung.name, rung.width, rung.height]));
    expect(view.hls).toEqual({ masterPlaylistKey: announced.masterPlaylistKey, durationSeconds: announced.durationSeconds });
  });

  it('turns a phone clip recorded in portrait upright: portrait rungs', async () => {
    const landscape = await fixtures.make('phone-landscape.mp4', [...testPattern('640x360', 2), ...tone(2), ...h264, ...aac, '-shortest']);
    const rotated = await fixtures.make('phone-portrait.mov', ['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90']);
    await expectLadder(
      rotated,
      [
        ['360p', 360, 640],
        ['240p', 240, 426],
      ],
      { audio: true },
    );
  });

  it('never upscales: a 480p source stops at 480p', async () => {
    const file = await fixtures.make('source-480p.mkv', [...testPattern('854x480', 2), ...tone(2), ...h264, ...aac, '-shortest']);
    await expectLadder(
      file,
      [
        ['480p', 854, 480],
        ['360p', 640, 360],
        ['240p', 428, 240], // 854 × 240/480, to the nearest even number
      ],
      { audio: true },
    );
  });

  it('makes renditions without audio from a source without audio', async () => {
    const file = await fixtures.make('silent.webm', [...testPattern('640x360', 2), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8']);
    await expectLadder(
      file,
      [
        ['360p', 640, 360],
        ['240p', 426, 240],
      ],
      { audio: false },
    );
  });

  it('takes 10-bit HEVC to 8-bit 4:2:0 H.264', async () => {
    const file = await fixtures.make('hevc-10bit.mkv', [...testPattern('640x360', 2), ...tone(2), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error', ...aac, '-shortest']);
    expect((await ffprobeJson(file)).streams[0]).toMatchObject({ codec_name: 'hevc', pix_fmt: 'yuv420p10le' });
    await expectLadder(
      file,
      [
        ['360p', 640, 360],
        ['240p', 426, 240],
      ],
      { audio: true },
    );
  });

  it('gives a variable frame rate source a constant rate and aligned keyframes', async () => {
    // Frames dropped irregularly from a 30 fps pattern: timestamps with uneven gaps.
    const file = await fixtures.make('variable-rate.mp4', [...testPattern('640x360', 3), '-vf', 'select=not(mod(n\\,3))+lt(mod(n\\,7)\\,2)', '-fps_mode', 'vfr', ...h264]);
    const { streams } = await ffprobeJson(file);
    expect(streams[0].avg_frame_rate).not.toBe(streams[0].r_frame_rate);
    await expectLadder(
      file,
      [
        ['360p', 640, 360],
        ['240p', 426, 240],
      ],
      { audio: false, frameRate: 30 },
    );
  });

  it.each([
    ['interlaced MPEG-2 in MPEG-TS', 'interlaced.ts', [...testPattern('720x480', 2, '30000/1001'), '-c:v', 'mpeg2video', '-flags', '+ilme+ildct', '-top', '1', '-field_order', 'tt'], [['480p', 720, 480], ['360p', 540, 360], ['240p', 360, 240]]],
    ['non-square pixels (MPEG-4 Part 2 in AVI)', 'anamorphic.avi', [...testPattern('480x360', 2), '-vf', 'setsar=4/3', '-c:v', 'mpeg4'], [['360p', 640, 360], ['240p', 426, 240]]],
    ['odd dimensions (4:4:4 H.264 in QuickTime)', 'odd-size.mov', [...testPattern('641x361', 2), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p'], [['360p', 640, 360], ['240p', 426, 240]]],
    ['AV1 in Matroska, below the lowest rung', 'small-av1.mkv', [...testPattern('320x180', 2), '-c:v', 'libsvtav1', '-preset', '12'], [['180p', 320, 180]]],
  ] as [string, string, string[], Expected[]][])('handles %s', async (_what, name, args, expected) => {
    await expectLadder(await fixtures.make(name, args), expected, { audio: false });
  });
});
