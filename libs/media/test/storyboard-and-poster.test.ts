import { bestFrame, judge, storyboardLayout, storyboardVtt } from '@video-pipeline/media';

describe('storyboard layout', () => {
  it('lays tiles out in rows, each cue covering its interval and the last one reaching the end', () => {
    const layout = storyboardLayout({ tiles: 12, tileWidth: 192, tileHeight: 108, columns: 10, intervalSeconds: 2, durationSeconds: 23.5 });
    expect([layout.columns, layout.rows]).toEqual([10, 2]);
    expect(layout.cues[0]).toEqual({ startSeconds: 0, endSeconds: 2, x: 0, y: 0 });
    expect(layout.cues[10]).toEqual({ startSeconds: 20, endSeconds: 22, x: 0, y: 108 });
    expect(layout.cues[11]).toEqual({ startSeconds: 22, endSeconds: 23.5, x: 192, y: 108 });
    expect(storyboardLayout({ tiles: 3, tileWidth: 100, tileHeight: 50, columns: 10, intervalSeconds: 1, durationSeconds: 3 })).toMatchObject({ columns: 3, rows: 1 });
  });

  it('writes WebVTT cues that point into the sprite', () => {
    const layout = storyboardLayout({ tiles: 2, tileWidth: 160, tileHeight: 90, columns: 10, intervalSeconds: 3725.5, durationSeconds: 7451 });
    expect(storyboardVtt(layout, 'storyboard.jpg')).toBe('WEBVTT\n\n00:00:00.000 --> 01:02:05.500\nstoryboard.jpg#xywh=0,0,160,90\n\n01:02:05.500 --> 02:04:11.000\nstoryboard.jpg#xywh=160,0,160,90\n');
  });
});

describe('poster frame scores', () => {
  it('rank every usable frame above black, white, flat or fading ones, however detailed', () => {
    const black = judge({ brightness: 3, contrast: 2, detail: 0.5 });
    const fading = judge({ brightness: 20, contrast: 30, detail: 6 });
    const white = judge({ brightness: 250, contrast: 5, detail: 1 });
    const flat = judge({ brightness: 120, contrast: 4, detail: 2 });
    const plain = judge({ brightness: 110, contrast: 40, detail: 3 });
    const rich = judge({ brightness: 130, contrast: 60, detail: 7 });
    expect([black, fading, white, flat].every((frame) => !frame.usable)).toBe(true);
    expect(bestFrame([black, fading, white, flat, plain])).toBe(plain);
    expect(bestFrame([black, plain, rich, fading])).toBe(rich);
  });

  it('takes the earliest of equals', () => {
    const first = { score: 5, id: 1 };
    expect(bestFrame([first, { score: 5, id: 2 }])).toBe(first);
  });
});
