import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { HEAD_BYTES, MediaToolkit } from '@video-pipeline/media';
import { MediaFixtures, h264 } from '../../../test/support/media-fixtures';

describe('frame samples spread over a video, from its keyframes only', () => {
  const fixtures = new MediaFixtures();
  let tempDir: string;
  let media: MediaToolkit;

  beforeAll(async () => {
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'frame-samples-'));
    media = new MediaToolkit({ limits: { maxSide: 4096, maxDurationSeconds: 3600, maxFps: 120 }, timeLimitMs: 60_000, threads: 0, x264Preset: 'ultrafast', tempDir });
  });
  afterAll(async () => {
    await fs.rm(tempDir, { recursive: true, force: true });
    await fixtures.remove();
  });

  async function open(file: string) {
    const head = (await fs.readFile(file)).subarray(0, HEAD_BYTES);
    return media.open(file, head);
  }

  it('takes keyframes at least duration ÷ count apart, small and upright', async () => {
    // 3 s of red then 3 s of blue, a keyframe every second.
    const file = await fixtures.make('two-halves.mp4', ['-f', 'lavfi', '-i', 'color=c=red:size=320x240:rate=30:duration=3', '-f', 'lavfi', '-i', 'color=c=blue:size=320x240:rate=30:duration=3', '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-g', '30', ...h264]);
    const colours = await media.frameSamples(await open(file), { label: 'samples', count: 3, width: 160 }, (frames) =>
      Promise.all(
        frames.map(async (frame) => {
          const { width, height } = await sharp(frame.path).metadata();
          const [red, , blue] = (await sharp(frame.path).stats()).channels.map((channel) => channel.mean);
          return { time: frame.timeSeconds, size: [width, height], colour: red! > blue! ? 'red' : 'blue' };
        }),
      ),
    );
    expect(colours).toEqual([
      { time: 0, size: [160, 120], colour: 'red' },
      { time: 2, size: [160, 120], colour: 'red' },
      { time: 4, size: [160, 120], colour: 'blue' },
    ]);
    // The work folder went with the frames.
    expect(await fs.readdir(tempDir)).toEqual([]);
  });
});
