import { cappedFrameRate, planLadder, type SourceInfo } from '@video-pipeline/media';

const video = (displayWidth: number, displayHeight: number, frameRate = 30): SourceInfo['video'] => ({
  codec: 'h264', width: displayWidth, height: displayHeight, displayWidth, displayHeight, rotation: 0, frameRate, variableFrameRate: false, pixelFormat: 'yuv420p', interlaced: false,
});

const sizes = (source: SourceInfo['video']) => planLadder(source).map((rung) => `${rung.name} ${rung.width}x${rung.height}@${rung.frameRate} ${rung.profile}`);

describe('planLadder', () => {
  it('gives a 1080p source every rung, 1080p to 240p, High but the lowest (Main)', () => {
    expect(sizes(video(1920, 1080))).toEqual(['1080p 1920x1080@30 high', '720p 1280x720@30 high', '480p 854x480@30 high', '360p 640x360@30 high', '240p 426x240@30 main']);
  });

  it('never upscales, and rungs follow the short side, so portrait video gets portrait rungs', () => {
    expect(sizes(video(1280, 720))[0]).toBe('720p 1280x720@30 high');
    expect(sizes(video(1080, 1920))).toEqual(['1080p 1080x1920@30 high', '720p 720x1280@30 high', '480p 480x854@30 high', '360p 360x640@30 high', '240p 240x426@30 main']);
    expect(sizes(video(1000, 700)).map((rung) => rung.split(' ')[0])).toEqual(['480p', '360p', '240p']);
  });

  it('always has a rung: a source below 240p gets one at its own size, made even', () => {
    expect(sizes(video(320, 180))).toEqual(['180p 320x180@30 main']);
    expect(sizes(video(176, 144))).toEqual(['144p 176x144@30 main']);
  });

  it('keeps the display aspect ratio in even dimensions', () => {
    for (const rung of planLadder(video(2560, 1080))) {
      expect(rung.width % 2).toBe(0);
      expect(rung.height % 2).toBe(0);
      expect(Math.abs(rung.width / rung.height - 2560 / 1080)).toBeLessThan(0.02);
    }
  });

  it('caps frame rates at 60, and at 30 below 720p, dividing evenly; higher rates get more bitrate', () => {
    const rungs = planLadder(video(1920, 1080, 60));
    expect(rungs.map((rung) => rung.frameRate)).toEqual([60, 60, 30, 30, 30]);
    expect(rungs[0]!.maxrateKbps).toBeGreaterThan(planLadder(video(1920, 1080, 30))[0]!.maxrateKbps);
    expect(planLadder(video(1280, 720, 120)).map((rung) => rung.frameRate)).toEqual([60, 30, 30, 30]);
    expect(planLadder(video(854, 480, 50)).map((rung) => rung.frameRate)).toEqual([25, 25, 25]);
  });
});

describe('cappedFrameRate', () => {
  it.each([
    [30, 60, 30],
    [60, 30, 30],
    [59.94, 30, 29.97],
    [50, 30, 25],
    [120, 60, 60],
    [100, 60, 50],
    [144, 60, 48],
    [24, 30, 24],
  ])('%d fps under a cap of %d is %d', (source, cap, expected) => {
    expect(cappedFrameRate(source, cap)).toBe(expected);
  });
});
