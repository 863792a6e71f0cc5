import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { videoReadyV1 } from '@video-pipeline/events';
import { MediaFixtures, aac, ffprobeJson, h264, testPattern, tone } from '../../../test/support/media-fixtures';
import { API_KEY, OTHER_API_KEY } from '../../../test/support/pipeline';
import { PlaybackTokens } from '../src/lifecycle/playback-tokens';
import { LifecycleBed, openEventStream } from './lifecycle-support';

const run = promisify(execFile);
jest.setTimeout(120_000);

describe('an upload becomes a ready video a plain player opens with no Authorization header', () => {
  const fixtures = new MediaFixtures();
  const life = new LifecycleBed('playback');
  let videoId: string;
  let ready: any;

  beforeAll(async () => {
    await life.start();
    const file = await fixtures.make('clip.mp4', [...testPattern('640x360', 3), ...tone(3), ...h264, ...aac, '-shortest']);
    const { video, event } = await life.upload(file, { title: 'A walk in the park' });
    videoId = video.id;
    expect(video.status).toBe('uploaded');

    // Watch from the start, as a page would.
    const watcher = openEventStream(`${life.api.baseUrl}/v1/videos/${videoId}/events`, { authorization: `Bearer ${API_KEY}` });
    await life.runAll(event);
    await watcher.ended;
    watchedEvents = watcher.events;
    expect(watcher.status()).toBe(200);
    expect(watcher.contentType()).toMatch(/^text\/event-stream/);
    ready = (await life.request('GET', `/v1/videos/${videoId}`, { apiKey: API_KEY })).body;
  });
  let watchedEvents: ReturnType<typeof openEventStream>['events'] = [];
  afterAll(async () => {
    await life.close();
    await fixtures.remove();
  });

  it('is ready with every stage done, moderation approved, and one video.ready', async () => {
    expect(ready).toMatchObject({
      status: 'ready',
      stages: { transcode: { status: 'succeeded', progress: 100 }, thumbnails: { status: 'succeeded', progress: 100 }, moderation: { status: 'approved' } },
      moderation: { decision: 'approved', decidedBy: 'policy' },
    });
    expect(ready.renditions.map((rendition: { name: string }) => rendition.name)).toEqual(['360p', '240p']);
    const events = await life.published('video.ready', videoId);
    expect(events).toHaveLength(1);
    expect(videoReadyV1.parse(events[0])).toMatchObject({ videoId, ownerId: 'alice', title: 'A walk in the park', masterPlaylistKey: `videos/${videoId}/hls/master.m3u8` });
    const listed = await life.request('GET', '/v1/videos?status=ready', { apiKey: API_KEY });
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(videoId);
    const processing = await life.request('GET', '/v1/videos?status=processing', { apiKey: API_KEY });
    expect(processing.body.items.map((item: { id: string }) => item.id)).not.toContain(videoId);
    expect((await life.request('GET', '/v1/videos?status=done', { apiKey: API_KEY })).body.error.code).toBe('invalid_request');
  });

  it('streams processing, progress and ready as Server-Sent Events, then ends', () => {
    const statuses = watchedEvents.filter((event) => event.event === 'status').map((event) => event.data.status);
    expect(statuses).toEqual(['uploaded', 'processing', 'ready']);
    const stages = watchedEvents.filter((event) => event.event === 'stage');
    for (const stage of ['transcode', 'thumbnails', 'moderation']) {
      expect(stages.filter((event) => event.data.stage === stage).map((event) => event.data.status)).toContain('running');
    }
    expect(stages.filter((event) => event.data.stage === 'transcode').at(-1)!.data).toMatchObject({ status: 'succeeded', progress: 100 });
    expect(watchedEvents.at(-1)).toMatchObject({ event: 'status', data: { status: 'ready', videoId } });
    const ids = watchedEvents.map((event) => BigInt(event.id!));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('resumes after Last-Event-ID without repeating an event, and ends at once after the last', async () => {
    const middle = watchedEvents[2]!;
    const resumed = openEventStream(`${life.api.baseUrl}/v1/videos/${videoId}/events`, { authorization: `Bearer ${API_KEY}`, 'last-event-id': middle.id! });
    await resumed.ended;
    expect(resumed.events.map((event) => event.id)).toEqual(watchedEvents.slice(3).map((event) => event.id));
    const done = openEventStream(`${life.api.baseUrl}/v1/videos/${videoId}/events`, { authorization: `Bearer ${API_KEY}`, 'last-event-id': watchedEvents.at(-1)!.id! });
    await done.ended;
    expect(done.events).toEqual([]);
    const stranger = openEventStream(`${life.api.baseUrl}/v1/videos/${videoId}/events`, { authorization: `Bearer ${OTHER_API_KEY}` });
    await stranger.ended;
    expect(stranger.status()).toBe(404);
  });

  it('plays through its master playlist URL in ffmpeg, with no Authorization header', async () => {
    const url: string = ready.playback.masterPlaylistUrl;
    expect(url).toMatch(new RegExp(`^${life.api.baseUrl}/v1/play/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+/master\\.m3u8$`));
    const probe = await ffprobeJson(url, ['-show_streams', '-show_format']);
    expect(probe.streams.filter((stream: { codec_type: string }) => stream.codec_type === 'video').map((stream: { height: number }) => stream.height).sort()).toEqual([240, 360]);
    expect(Number(probe.format.duration)).toBeGreaterThan(2.5);
    // And decodes every frame of the top rung.
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-stats', '-i', url, '-map', '0:v:0', '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
    expect(stderr).toMatch(/frame=\s*(7\d|8\d|9\d)\b/);
  });

  it('serves playlists, segments and pictures with their content types, byte ranges and CORS', async () => {
    const master = await fetch(ready.playback.masterPlaylistUrl, { headers: { origin: 'https://player.example' } });
    expect(master.status).toBe(200);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(master.headers.get('access-control-allow-origin')).toBe('*');
    expect(master.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const text = await master.text();
    const rungPlaylist = text.split('\n').find((line) => line.endsWith('.m3u8'))!;
    const base = ready.playback.masterPlaylistUrl.replace(/master\.m3u8$/, '');
    const rung = await fetch(base + rungPlaylist);
    expect(rung.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const segment = (await rung.text()).split('\n').find((line) => line.endsWith('.m4s'))!;
    const segmentUrl = base + rungPlaylist.replace(/[^/]+$/, '') + segment;
    const whole = await fetch(segmentUrl);
    expect(whole.headers.get('content-type')).toBe('video/iso.segment');
    const size = (await whole.arrayBuffer()).byteLength;
    const part = await fetch(segmentUrl, { headers: { range: 'bytes=10-109' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-109/${size}`);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    const outside = await fetch(segmentUrl, { headers: { range: `bytes=${size + 10}-${size + 20}` } });
    expect(outside.status).toBe(416);
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe('range_not_satisfiable');

    expect(ready.playback.posters.length).toBeGreaterThan(0);
    for (const poster of ready.playback.posters) {
      const picture = await fetch(poster.url);
      expect(picture.status).toBe(200);
      expect(picture.headers.get('content-type')).toBe(`image/${poster.format}`);
    }
    const storyboard = await fetch(ready.playback.storyboardUrl);
    expect(storyboard.headers.get('content-type')).toBe('text/vtt');
    const sprite = (await storyboard.text()).match(/^(storyboard\.jpg)#xywh=/m)![1]!;
    const spriteAnswer = await fetch(ready.playback.storyboardUrl.replace(/storyboard\.vtt$/, sprite));
    expect(spriteAnswer.headers.get('content-type')).toBe('image/jpeg');
    // Never the original upload, nor a path out of the video's folders.
    const token = ready.playback.masterPlaylistUrl.split('/').at(-2);
    expect((await fetch(`${life.api.baseUrl}/v1/play/${token}/original`)).status).toBe(404);
    expect((await fetch(`${life.api.baseUrl}/v1/play/${token}/..%2Foriginal`)).status).toBeGreaterThanOrEqual(400);
  });

  it('refuses expired, forged and cross-owner tokens', async () => {
    const tokens = life.api.lifecycle.tokens;
    const answer = async (token: string) => {
      const response = await fetch(`${life.api.baseUrl}/v1/play/${token}/master.m3u8`);
      return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
    };
    expect(await answer(tokens.sign(videoId, 'alice', new Date(Date.now() - 1_000)))).toEqual({ status: 403, code: 'playback_token_expired' });
    expect(await answer(new PlaybackTokens('x'.repeat(32), 3600).sign(videoId, 'alice'))).toEqual({ status: 403, code: 'playback_token_invalid' });
    const good = tokens.sign(videoId, 'alice');
    const [payload, mac] = good.split('.');
    const otherPayload = Buffer.from(JSON.stringify({ v: videoId, o: 'alice', e: Math.floor(Date.now() / 1000) + 10 ** 8 })).toString('base64url');
    expect(await answer(`${otherPayload}.${mac}`)).toEqual({ status: 403, code: 'playback_token_invalid' });
    expect(await answer(`${payload}.${mac!.slice(0, -2)}AA`)).toEqual({ status: 403, code: 'playback_token_invalid' });
    expect(await answer('garbage')).toEqual({ status: 403, code: 'playback_token_invalid' });
    // Signed for another owner than the video's: it opens nothing.
    expect(await answer(tokens.sign(videoId, 'bob'))).toEqual({ status: 404, code: 'not_found' });
    expect((await fetch(`${life.api.baseUrl}/v1/play/${good}/master.m3u8`)).status).toBe(200);
  });
});
