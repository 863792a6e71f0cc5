import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { MediaToolkit, defaultBinaries } from '@video-pipeline/media';
import type { MediaJobDeps } from '@video-pipeline/media-jobs';
import { Tripwires, hostileFiles, recordingWrapper } from '../../../test/support/hostile-inputs';
import { MediaFixtures, aac, h264, testPattern, tone } from '../../../test/support/media-fixtures';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { handleVideoUploaded, hlsPrefix } from '../src/handlers/video-uploaded';

jest.setTimeout(60_000);

/**
 * Uploads that cannot become a video are refused for good, with a stable
 * reason on the video and a `video.transcode.failed` event: the handler
 * returns effects (no retry, no dead letter), and nothing half-made stays.
 */
describe('the transcoder refuses what is not a video it may decode', () => {
  const fixtures = new MediaFixtures();
  const bed = new MediaTestbed('refusals', { MEDIA_TIME_LIMIT_SECONDS: '20' });
  let wires: Tripwires;
  let ranLog: string;
  let deps: MediaJobDeps;

  beforeAll(async () => {
    await bed.start();
    const dir = await fixtures.folder();
    wires = await Tripwires.arm(dir);
    ranLog = path.join(dir, 'ran.log');
    await fs.writeFile(ranLog, '');
    deps = bed.deps('transcoder');
    // The real ffmpeg and ffprobe, behind wrappers that note every run.
    deps.media = new MediaToolkit({
      ...deps.media.options,
      binaries: { ffmpeg: await recordingWrapper(dir, 'ffmpeg', defaultBinaries.ffmpeg, ranLog), ffprobe: await recordingWrapper(dir, 'ffprobe', defaultBinaries.ffprobe, ranLog) },
    });
  });

  afterAll(async () => {
    await wires?.disarm();
    await bed.close();
    await fixtures.remove();
  });

  async function expectRefused(file: string, code: string, handlerDeps: MediaJobDeps = deps) {
    const event = await bed.storeUpload(file);
    const { videoId } = event.data;
    expect(await bed.handle(handleVideoUploaded(handlerDeps), event)).toBe(true);
    expect(await bed.stage(videoId, 'transcode')).toMatchObject({ status: 'failed', errorCode: code, attempts: 1 });
    const failed = await bed.published('video.transcode.failed', videoId);
    expect(failed).toEqual([expect.objectContaining({ videoId, stage: 'transcode', reason: { code, message: expect.any(String) } })]);
    expect(await bed.published('video.transcoded', videoId)).toEqual([]);
    expect(await bed.keys(hlsPrefix(videoId))).toEqual([]);
    expect(await bed.prisma.videoRendition.count({ where: { videoId } })).toBe(0);
    // A redelivery finds the stage ended and changes nothing.
    expect(await bed.handle(handleVideoUploaded(handlerDeps), event)).toBe(false);
    return failed[0]!.reason.message;
  }

  it.each(['hlsPlaylist', 'concatScript', 'dashManifest'] as const)('refuses a %s disguised as a video before ffmpeg runs, and nothing is opened', async (kind) => {
    const file = await fixtures.write(`${kind}.mp4`, hostileFiles(wires)[kind]);
    await expectRefused(file, 'media_unsafe_input');
    expect(await fs.readFile(ranLog, 'utf8')).toBe('');
    expect(wires.connections).toBe(0);
    expect(wires.pipeOpened).toBe(false);
  });

  it('(control) the tripwires do see an unguarded ffprobe follow a playlist and a concat script', async () => {
    const probe = (args: string[]) => promisify(execFile)('ffprobe', ['-v', 'error', '-protocol_whitelist', 'file,http,tcp', '-rw_timeout', '2000000', ...args]).catch(() => undefined);
    await probe([await fixtures.write('control.m3u8', `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n${wires.url}\n#EXT-X-ENDLIST\n`)]);
    await probe(['-f', 'concat', '-safe', '0', await fixtures.write('control.ffconcat', `ffconcat version 1.0\nfile '${wires.pipePath}'\n`)]);
    expect(wires.connections).toBeGreaterThan(0);
    expect(wires.pipeOpened).toBe(true);
    wires.connections = 0;
    wires.pipeOpened = false;
  });

  it('refuses a playlist behind a video header as undecodable: ffmpeg reads it with the demuxer the header names, and opens nothing else', async () => {
    const mp4Header = Buffer.from('0000001c667479706d703432000000006d7034326d70343169736f6d', 'hex');
    const file = await fixtures.write('header-then-playlist.mp4', Buffer.concat([mp4Header, Buffer.from(hostileFiles(wires).hlsPlaylist)]));
    await expectRefused(file, 'media_undecodable');
    expect(await fs.readFile(ranLog, 'utf8')).toMatch(/-protocol_whitelist http,tcp .*-f mov/);
    expect(wires.connections).toBe(0);
    expect(wires.pipeOpened).toBe(false);
  });

  it('refuses audio without video', async () => {
    await expectRefused(await fixtures.make('audio-only.mp4', [...tone(1), ...aac]), 'media_no_video_stream');
  });

  it('refuses random bytes', async () => {
    // The same noise every run: fresh random bytes now and then probe as some other format and are refused for that instead.
    const noise = Buffer.concat(Array.from({ length: 2048 }, (_, index) => createHash('sha256').update(`noise ${index}`).digest()));
    await expectRefused(await fixtures.write('random.mp4', noise), 'media_undecodable');
  });

  it('refuses a truncated file', async () => {
    const whole = await fs.readFile(await fixtures.make('whole.mp4', [...testPattern('320x240', 2), ...tone(2), ...h264, ...aac, '-shortest']));
    // ffmpeg writes the index (moov) at the end: the first half is media data without a way to read it.
    await expectRefused(await fixtures.write('truncated.mp4', whole.subarray(0, Math.floor(whole.length / 2))), 'media_undecodable');
  });

  it('refuses a resolution over the limit (4096 px per side by default) before decoding a frame', async () => {
    const file = await fixtures.make('too-wide.mp4', ['-f', 'lavfi', '-i', 'color=size=4112x64:rate=5:duration=0.2', ...h264]);
    const message = await expectRefused(file, 'media_resolution_too_large');
    expect(message).toMatch(/4112x64/);
  });

  it('refuses a frame rate over the limit (120 by default)', async () => {
    await expectRefused(await fixtures.make('too-fast.mp4', [...testPattern('64x64', 1, 240), ...h264]), 'media_frame_rate_too_high');
  });

  it('refuses a duration over the limit, as configured', async () => {
    const file = await fixtures.make('two-seconds.mp4', [...testPattern('320x240', 2), ...h264]);
    const strict = bed.deps('transcoder', { MEDIA_MAX_DURATION_SECONDS: '1' });
    const message = await expectRefused(file, 'media_too_long', strict);
    expect(message).toMatch(/at most 1 s/);
  });
});
