import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { videoFailedV1, videoRejectedV1 } from '@video-pipeline/events';
import { MediaFixtures, h264, testPattern } from '../../../test/support/media-fixtures';
import { ADMIN_API_KEY, API_KEY, OTHER_API_KEY } from '../../../test/support/pipeline';
import { LifecycleBed } from './lifecycle-support';

jest.setTimeout(120_000);

describe('a video ends rejected, failed, or ready after a review, and its owner edits it', () => {
  const fixtures = new MediaFixtures();
  // A classifier on loopback that takes the request and never answers.
  const silent = http.createServer(() => {});
  let life: LifecycleBed;
  const clip = () => fixtures.make('clip.mp4', [...testPattern('320x240', 2), ...h264]);

  beforeAll(async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    life = await new LifecycleBed('outcomes', { MODERATION_CLASSIFIER_URL: `http://127.0.0.1:${port}/classify`, MODERATION_CLASSIFIER_TIMEOUT_MS: '300' }).start();
  });
  afterAll(async () => {
    await life.close();
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    await fixtures.remove();
  });

  it('rejects a blocklisted title, with one video.rejected, and never offers playback', async () => {
    const { video, event } = await life.upload(await clip(), { title: 'Totally not a SCAM' });
    await life.runAll(event);
    const { body } = await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY });
    expect(body).toMatchObject({ status: 'rejected', stages: { moderation: { status: 'rejected' }, transcode: { status: 'succeeded' } }, playback: null });
    expect(body.moderation.reasons).toContainEqual(expect.objectContaining({ check: 'text_blocklist', verdict: 'reject', code: 'blocked_text' }));
    const rejected = await life.published('video.rejected', video.id);
    expect(rejected).toHaveLength(1);
    expect(videoRejectedV1.parse(rejected[0])).toMatchObject({ decidedBy: 'policy' });
    expect(await life.published('video.ready', video.id)).toEqual([]);
    const listed = await life.request('GET', '/v1/videos?status=rejected', { apiKey: API_KEY });
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(video.id);
  });

  it('sends a video whose classifier times out to review; a reviewer\'s approval makes it ready, recorded with who and when', async () => {
    const { video, event } = await life.upload(await clip(), { title: 'Sunset' });
    await life.runAll(event);
    const waiting = await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY });
    expect(waiting.body).toMatchObject({ status: 'processing', stages: { moderation: { status: 'needs_review' }, transcode: { status: 'succeeded' }, thumbnails: { status: 'succeeded' } } });
    expect(waiting.body.moderation.reasons).toContainEqual(expect.objectContaining({ check: 'classifier', verdict: 'review', code: 'classifier_unavailable' }));

    // Owners cannot see or decide the queue.
    expect((await life.request('GET', '/v1/reviews', { apiKey: API_KEY })).status).toBe(403);
    expect((await life.request('POST', `/v1/reviews/${video.id}`, { apiKey: API_KEY, body: { decision: 'approved' } })).status).toBe(403);
    const queue = await life.request('GET', '/v1/reviews', { apiKey: ADMIN_API_KEY });
    expect(queue.status).toBe(200);
    expect(queue.body.items).toContainEqual(expect.objectContaining({ videoId: video.id, ownerId: 'alice', title: 'Sunset', reasons: expect.arrayContaining([expect.objectContaining({ code: 'classifier_unavailable' })]) }));

    // The queue carries the waiting video's pictures as signed URLs that work without a key; its ladder stays closed.
    const { pictures } = queue.body.items.find((item: { videoId: string }) => item.videoId === video.id);
    expect(pictures.posters.length).toBeGreaterThan(0);
    for (const url of [...pictures.posters.map((poster: { url: string }) => poster.url), pictures.storyboard.spriteUrl]) {
      const picture = await fetch(url);
      expect([url, picture.status, picture.headers.get('content-type')]).toEqual([url, 200, expect.stringMatching(/^image\//)]);
      expect((await picture.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const cues = await fetch(pictures.storyboard.vttUrl);
    expect([cues.status, cues.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/vtt')]);
    expect(await cues.text()).toMatch(/^WEBVTT[\s\S]*#xywh=/);
    const ladder = await fetch(pictures.storyboard.spriteUrl.replace(/thumbnails\/[^/]+$/, 'master.m3u8'));
    expect(ladder.status).toBe(404);

    expect((await life.request('POST', `/v1/reviews/${video.id}`, { apiKey: ADMIN_API_KEY, body: { decision: 'maybe' } })).body.error).toMatchObject({ code: 'invalid_request', details: { in: 'body', field: 'decision' } });
    const before = Date.now();
    const decided = await life.request('POST', `/v1/reviews/${video.id}`, { apiKey: ADMIN_API_KEY, body: { decision: 'approved', note: 'checked by hand' } });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ videoId: video.id, decision: 'approved', reviewer: 'rita', note: 'checked by hand', status: 'ready' });
    expect(Date.parse(decided.body.decidedAt)).toBeGreaterThanOrEqual(before - 1000);

    const after = await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY });
    expect(after.body).toMatchObject({ status: 'ready', stages: { moderation: { status: 'approved' } }, moderation: { decision: 'approved', decidedBy: 'reviewer', reviewer: 'rita', note: 'checked by hand' } });
    expect(after.body.playback.masterPlaylistUrl).toContain('/v1/play/');
    expect(await life.bed.prisma.moderationReview.findMany({ where: { videoId: video.id } })).toEqual([expect.objectContaining({ reviewer: 'rita', decision: 'approved', note: 'checked by hand' })]);
    expect((await life.published('video.moderated', video.id)).map((event) => [event.decision, event.decidedBy])).toEqual([['needs_review', 'policy'], ['approved', 'reviewer']]);
    expect(await life.published('video.ready', video.id)).toHaveLength(1);

    // Decided once: a second decision is refused, and it left the queue.
    const again = await life.request('POST', `/v1/reviews/${video.id}`, { apiKey: ADMIN_API_KEY, body: { decision: 'rejected' } });
    expect([again.status, again.body.error.code]).toEqual([409, 'review_not_pending']);
    expect((await life.request('GET', '/v1/reviews', { apiKey: ADMIN_API_KEY })).body.items.map((item: { videoId: string }) => item.videoId)).not.toContain(video.id);
    expect((await life.request('POST', '/v1/reviews/5b0b5b0b-0000-4000-8000-000000000000', { apiKey: ADMIN_API_KEY, body: { decision: 'approved' } })).status).toBe(404);
  });

  it('a reviewer\'s rejection rejects it', async () => {
    const { video, event } = await life.upload(await clip(), { title: 'Cats' });
    await life.run('moderation', event);
    const queued = async () => (await life.request('GET', '/v1/reviews', { apiKey: ADMIN_API_KEY })).body.items.find((item: { videoId: string }) => item.videoId === video.id);
    // No pictures before the thumbnails exist; once they do, the poster opens while the video waits.
    expect((await queued()).pictures).toBeNull();
    await life.run('thumbnails', event);
    const posterUrl: string = (await queued()).pictures.posters[0].url;
    expect((await fetch(posterUrl)).status).toBe(200);
    const decided = await life.request('POST', `/v1/reviews/${video.id}`, { apiKey: ADMIN_API_KEY, body: { decision: 'rejected', note: 'not allowed here' } });
    expect(decided.body).toMatchObject({ decision: 'rejected', status: 'rejected' });
    // Rejected, it waits no more: the reviewer's picture URL closes.
    const closed = await fetch(posterUrl);
    expect([closed.status, ((await closed.json()) as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
    const rejected = await life.published('video.rejected', video.id);
    expect(rejected).toEqual([expect.objectContaining({ decidedBy: 'reviewer', reasons: expect.arrayContaining([expect.objectContaining({ check: 'review', code: 'reviewer_rejected', message: 'not allowed here' })]) })]);
  });

  it('fails a source that cannot be transcoded, keeping the stage and its reason', async () => {
    const broken = await fixtures.write('broken.mp4', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(4000, 7)]));
    const { video, event } = await life.upload(broken, { title: 'Broken' });
    await life.runAll(event);
    const { body } = await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY });
    expect(body).toMatchObject({ status: 'failed', stages: { transcode: { status: 'failed', error: { code: 'media_undecodable' } } } });
    const failed = await life.published('video.failed', video.id);
    expect(failed).toHaveLength(1);
    expect(videoFailedV1.parse(failed[0])).toMatchObject({ stage: 'transcode', reason: { code: 'media_undecodable' } });
    // Moderation could not read it either and asked for a review, but the video has ended: it waits for no
    // reviewer, so it is not in the queue and a late decision is refused, changing nothing.
    expect(body.stages.moderation.status).toBe('needs_review');
    const queue = await life.request('GET', '/v1/reviews', { apiKey: ADMIN_API_KEY });
    expect(queue.body.items.map((item: { videoId: string }) => item.videoId)).not.toContain(video.id);
    const late = await life.request('POST', `/v1/reviews/${video.id}`, { apiKey: ADMIN_API_KEY, body: { decision: 'approved' } });
    expect([late.status, late.body.error]).toEqual([409, expect.objectContaining({ code: 'review_not_pending', details: { moderation: 'needs_review', status: 'failed' } })]);
    expect(await life.bed.prisma.moderationReview.findMany({ where: { videoId: video.id } })).toEqual([]);
    expect((await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY })).body).toMatchObject({ status: 'failed', stages: { moderation: { status: 'needs_review' } } });
    expect(await life.published('video.failed', video.id)).toHaveLength(1);
  });

  it('edits the title and description under the blocklist, for the owner only', async () => {
    const { video } = await life.upload(await clip(), { title: 'Draft' });
    const edited = await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: API_KEY, body: { title: '  Final cut ', description: 'Shot on a Sunday' } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id: video.id, title: 'Final cut', description: 'Shot on a Sunday' });

    const blocked = await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: API_KEY, body: { description: 'Free ŠPAM inside' } });
    expect(blocked.status).toBe(422);
    expect(blocked.body.error).toMatchObject({ code: 'blocked_text', details: { reasons: [expect.objectContaining({ check: 'text_blocklist', verdict: 'reject' })] } });
    expect((await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY })).body.description).toBe('Shot on a Sunday');

    expect((await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: OTHER_API_KEY, body: { title: 'Mine now' } })).status).toBe(404);
    expect((await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: API_KEY, body: {} })).body.error.code).toBe('invalid_request');
    expect((await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: API_KEY, body: { owner: 'bob' } })).body.error.code).toBe('invalid_request');
    expect((await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: API_KEY, body: { description: 'x'.repeat(5001) } })).body.error).toMatchObject({ code: 'invalid_request', details: { field: 'description' } });
    const cleared = await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: API_KEY, body: { description: null } });
    expect(cleared.body).toMatchObject({ title: 'Final cut', description: null });
  });
});
