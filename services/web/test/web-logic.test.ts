import { playbackOf, type Video } from '../src/api';
import { NO_FEATURES, detectFeatures, featuresOf } from '../src/features';
import { formatDuration } from '../src/format';
import { parseStoryboardVtt, tileAt } from '../src/storyboard';
import { TransferRate } from '../src/upload/progress';
import { titleFromFileName } from '../src/upload/transfer';

describe('upload speed and time left', () => {
  it('are measured over the recent window, from a clock passed in', () => {
    let now = 0;
    const rate = new TransferRate(3_000, () => now);
    expect(rate.bytesPerSecond()).toBeNull();
    rate.record(0);
    expect(rate.secondsLeft(1_000)).toBeNull();
    now = 1_000;
    rate.record(100);
    expect(rate.bytesPerSecond()).toBe(100);
    expect(rate.secondsLeft(1_000)).toBe(9);
    // A faster stretch later: the old samples leave the window, and the speed follows.
    now = 5_000;
    rate.record(500);
    now = 6_000;
    rate.record(900);
    expect(rate.bytesPerSecond()).toBe(400);
    expect(rate.secondsLeft(1_000)).toBe(0.25);
  });
});

describe('features read from the OpenAPI document', () => {
  it('are off for routes the API does not have, on for those it has', () => {
    expect(featuresOf({ paths: { '/v1/videos': { get: { parameters: [{ name: 'limit', in: 'query' }] } }, '/v1/videos/{id}': { get: {} } } }, false)).toEqual({
      statusFilter: false,
      rename: false,
      remove: false,
      liveEvents: false,
      tus: false,
      reviews: false,
      webhooks: false,
      analytics: false,
    });
    const full = featuresOf(
      {
        paths: {
          '/v1/videos': { get: { parameters: [{ name: 'status', in: 'query' }] } },
          '/v1/videos/{id}': { patch: {}, delete: {} },
          '/v1/videos/{id}/events': { get: {} },
          '/v1/reviews': { get: {} },
          '/v1/webhooks': { post: {} },
          '/v1/analytics/summary': { get: {} },
        },
      },
      true,
    );
    expect(Object.values(full).every(Boolean)).toBe(true);
  });
});

describe('asking the API what it offers', () => {
  it('gives up after its time limit when the API does not answer, and offers nothing (files picked meanwhile must not wait for ever)', async () => {
    const silent = ((_input: unknown, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
    const started = Date.now();
    await expect(detectFeatures(silent, 50)).resolves.toEqual(NO_FEATURES);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reads the document and the tus announcement when they answer', async () => {
    const answering = ((input: unknown) =>
      Promise.resolve(
        String(input) === '/openapi.json'
          ? new Response(JSON.stringify({ paths: { '/v1/webhooks': { get: {} } } }), { status: 200 })
          : new Response(null, { status: 204, headers: { 'Tus-Version': '1.0.0' } }),
      )) as typeof fetch;
    expect(await detectFeatures(answering, 1_000)).toMatchObject({ tus: true, webhooks: true, analytics: false });
  });
});

describe('a storyboard VTT', () => {
  const vtt = 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nstoryboard.jpg#xywh=0,0,192,108\n\n00:00:01.000 --> 00:00:02.000\nstoryboard.jpg#xywh=192,0,192,108\n';
  it('gives each second its tile, with the sprite resolved against the VTT', () => {
    const tiles = parseStoryboardVtt(vtt, '/play/tok/thumbnails/storyboard.vtt', 'http://127.0.0.1:3000/videos/x');
    expect(tiles).toEqual([
      { start: 0, end: 1, url: 'http://127.0.0.1:3000/play/tok/thumbnails/storyboard.jpg', x: 0, y: 0, width: 192, height: 108 },
      { start: 1, end: 2, url: 'http://127.0.0.1:3000/play/tok/thumbnails/storyboard.jpg', x: 192, y: 0, width: 192, height: 108 },
    ]);
    expect(tileAt(tiles, 1.5)?.x).toBe(192);
    expect(tileAt(tiles, 0.2)?.x).toBe(0);
  });
  it('skips cues that are not tiles', () => {
    expect(parseStoryboardVtt('WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n', 'a.vtt', 'http://127.0.0.1/')).toEqual([]);
  });
});

describe('words for people', () => {
  it('formats durations and titles', () => {
    expect([formatDuration(0), formatDuration(65.4), formatDuration(3_725), formatDuration(undefined)]).toEqual(['0:00', '1:05', '1:02:05', '–']);
    expect([titleFromFileName('Holiday 2026.mp4'), titleFromFileName('.mp4'), titleFromFileName('clip')]).toEqual(['Holiday 2026', '.mp4', 'clip']);
  });
  it('finds no playback URLs in a video that has none', () => {
    expect(playbackOf({ id: 'x', title: null, status: 'ready', createdAt: '' } as Video)).toEqual({ masterUrl: undefined, posterUrl: undefined, storyboardVttUrl: undefined });
  });
});
