import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createEvent, eventCatalog, type CloudEvent } from '@video-pipeline/events';
import { WEB_APP_DIST_DIR, buildWebApp } from '../../../infra/web-app';
import { makeVideo } from '../../../test/support/fixtures';
import { ADMIN_API_KEY, API_KEY } from '../../../test/support/pipeline';
import { LifecycleBed } from '../../upload-api/test/lifecycle-support';
import { launchBrowser, screenshot, seriousAxeViolations } from './support/browser';

interface PageVideo {
  id: string;
  title: string | null;
  status: string;
  renditions: { height: number; width: number }[];
}

/**
 * The whole way through the page on the real stack: an upload goes through
 * moderation (which sends it to review: its classifier never answers),
 * transcoding and thumbnails; a reviewer approves it in the reviewers' page;
 * the owner's library follows it live to ready, and the player plays it.
 */
describe('the web app, from upload to playback', () => {
  let classifier: http.Server;
  let life: LifecycleBed;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // A classifier that takes the request and never answers: moderation asks for a person.
    classifier = http.createServer(() => undefined);
    await new Promise<void>((resolve) => classifier.listen(0, '127.0.0.1', resolve));
    const port = (classifier.address() as AddressInfo).port;
    await buildWebApp();
    life = new LifecycleBed('web-e2e', { MODERATION_CLASSIFIER_URL: `http://127.0.0.1:${port}/classify`, MODERATION_CLASSIFIER_TIMEOUT_MS: '300' });
    [, browser] = await Promise.all([life.start({ webAppDir: WEB_APP_DIST_DIR }), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await life?.close();
    classifier?.closeAllConnections();
    await new Promise((resolve) => classifier?.close(resolve));
  });

  const url = (pathname: string) => `${life.api.baseUrl}${pathname}`;
  async function signedInPage(key: string, role: 'owner' | 'admin'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    contexts.push(context);
    await context.addInitScript(
      ([savedKey, savedRole]) => {
        if (!localStorage.getItem('video-pipeline.session')) localStorage.setItem('video-pipeline.session', JSON.stringify({ key: savedKey, role: savedRole }));
        // When the first frame plays, for time to first frame (performance.now() counts from the navigation).
        const page = globalThis as unknown as { firstPlayingAt?: number; document: { addEventListener(type: string, listener: () => void, capture: boolean): void } };
        page.document.addEventListener('playing', () => (page.firstPlayingAt ??= performance.now()), true);
      },
      [key, role] as const,
    );
    return context.newPage();
  }
  const noSeriousViolations = async (page: Page, where: string) => expect([where, await seriousAxeViolations(page)]).toEqual([where, []]);
  const getVideo = async (id: string) => (await life.request('GET', `/v1/videos/${id}`, { apiKey: API_KEY })).body as PageVideo;
  async function uploadedEvent(videoId: string): Promise<CloudEvent<'video.uploaded'>> {
    const row = await life.bed.prisma.outboxEvent.findFirstOrThrow({ where: { key: videoId, type: 'video.uploaded' } });
    const data = eventCatalog['video.uploaded'].schema.parse(row.payload) as CloudEvent<'video.uploaded'>['data'];
    return createEvent('video.uploaded', { id: row.id, source: '/video-pipeline/test', subject: videoId, data });
  }
  /** Opens the player and waits for it to play; the milliseconds from navigation to the first `playing`. */
  async function timeToFirstFrame(page: Page, id: string): Promise<number> {
    await page.goto(url(`/videos/${id}`));
    await page.waitForFunction(() => (globalThis as unknown as { firstPlayingAt?: number }).firstPlayingAt !== undefined, undefined, { timeout: 30_000 });
    return page.evaluate(() => (globalThis as unknown as { firstPlayingAt: number }).firstPlayingAt);
  }

  it('uploads, follows the video live through review to ready, and plays it with its quality menu and storyboard', async () => {
    const owner = await signedInPage(API_KEY, 'owner');
    await owner.goto(url('/upload'));
    await owner.setInputFiles('#file-picker', await makeVideo({ seconds: 6, size: '640x360' }));
    await owner.locator('.upload[data-state="done"]').waitFor();
    await owner.getByRole('link', { name: 'Open the video' }).click();
    await owner.getByRole('heading', { name: /^testsrc/ }).waitFor();
    const id = owner.url().split('/').at(-1)!;

    // The library, open while the groups work: it follows the video without a reload.
    await owner.getByRole('link', { name: 'Library' }).click();
    const row = owner.locator(`[data-video-id="${id}"]`);
    expect(await row.locator('.badge').textContent()).toBe('Uploaded');
    await life.runAll(await uploadedEvent(id));
    expect(await getVideo(id)).toMatchObject({ status: 'processing' });
    await row.locator('.badge', { hasText: 'Processing' }).waitFor();
    await row.locator('.stage', { hasText: 'needs review' }).waitFor();

    // The reviewer's queue shows it with moderation's reasons; approving makes it ready.
    const reviewer = await signedInPage(ADMIN_API_KEY, 'admin');
    await reviewer.goto(url('/'));
    const card = reviewer.locator(`.review[data-video-id="${id}"]`);
    await card.waitFor();
    expect(await card.locator('.reasons').textContent()).toContain('classifier');
    // With the poster (a picture that really loaded) and a strip of storyboard frames from the sprite.
    const poster = card.locator('.review-poster img');
    await poster.waitFor();
    await reviewer.waitForFunction((element) => (element as unknown as { complete: boolean; naturalWidth: number }).complete && (element as unknown as { naturalWidth: number }).naturalWidth > 0, await poster.elementHandle(), { timeout: 10_000 });
    expect(await poster.getAttribute('alt')).toMatch(/^Poster of/);
    const frames = card.getByRole('list', { name: 'Storyboard' }).getByRole('img');
    await frames.first().waitFor();
    expect(await frames.count()).toBeGreaterThan(1);
    expect(await frames.first().evaluate((element) => (element as unknown as { style: { backgroundImage: string } }).style.backgroundImage)).toMatch(/\/thumbnails\/storyboard\.jpg/);
    await noSeriousViolations(reviewer, 'reviews');
    await screenshot(reviewer, 'reviews');
    await card.getByLabel('Note for the uploader (optional)').fill('checked by hand');
    await card.getByRole('button', { name: 'Approve' }).click();
    expect(await reviewer.getByRole('status').textContent()).toContain('it is now ready');
    await card.waitFor({ state: 'detached' });

    await row.locator('.badge', { hasText: 'Ready' }).waitFor();
    await row.locator('.poster img').waitFor();
    await noSeriousViolations(owner, 'library with a ready video');

    // The player: it plays, lists the ladder's rungs, previews the storyboard, answers the keyboard.
    const video = await getVideo(id);
    expect(video.status).toBe('ready');
    const firstFrameMs = await timeToFirstFrame(owner, id);
    const quality = owner.getByLabel('Quality');
    expect(await quality.locator('option').allTextContents()).toEqual(['Auto', ...video.renditions.map((rung) => `${Math.min(rung.width, rung.height)}p`).sort((a, b) => parseInt(a) - parseInt(b))]);
    const media = owner.locator('video');
    await owner.waitForFunction(() => ((globalThis as unknown as { document: { querySelector(s: string): { currentTime: number } } }).document.querySelector('video')!.currentTime > 1));
    const seek = owner.getByLabel('Seek');
    const box = (await seek.boundingBox())!;
    await owner.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
    const preview = owner.locator('.storyboard-preview div');
    await preview.waitFor();
    expect(await preview.evaluate((element) => (element as unknown as { style: { backgroundImage: string } }).style.backgroundImage)).toMatch(/\/thumbnails\/storyboard\.jpg/);
    await noSeriousViolations(owner, 'player');
    await screenshot(owner, 'player');
    await owner.locator('.player').press('k');
    await owner.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { paused: boolean } } }).document.querySelector('video')!.paused);
    expect(await media.evaluate((element) => (element as unknown as { paused: boolean }).paused)).toBe(true);

    // Time to first frame at the lowest and the top rung (the quality menu's choice is kept for the next load).
    const heights = video.renditions.map((rung) => Math.min(rung.width, rung.height)).sort((a, b) => a - b);
    const figures: Record<string, number> = { auto: firstFrameMs };
    for (const height of [heights[0]!, heights.at(-1)!]) {
      await owner.evaluate((chosen) => localStorage.setItem('video-pipeline.quality', String(chosen)), height);
      figures[`${height}p`] = await timeToFirstFrame(owner, id);
      expect(await quality.inputValue()).not.toBe('-1');
    }
    process.stdout.write(`time to first frame (ms, navigation to first playing): ${JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v)])))}\n`);
  }, 180_000);
  it('renames (a blocked word is refused with the API message), filters by status, and deletes after asking', async () => {
    const { video } = await life.upload(await makeVideo({ seconds: 1 }), { title: 'Before' });
    const owner = await signedInPage(API_KEY, 'owner');
    await owner.goto(url('/'));
    const row = owner.locator(`[data-video-id="${video.id}"]`);
    await row.waitFor();

    owner.once('dialog', (dialog) => void dialog.accept('a spam title'));
    await row.getByRole('button', { name: 'Rename Before' }).click();
    const refusal = (await life.request('PATCH', `/v1/videos/${video.id}`, { apiKey: API_KEY, body: { title: 'a spam title' } })).body.error.message as string;
    expect(await owner.getByRole('alert').textContent()).toBe(refusal);
    owner.once('dialog', (dialog) => void dialog.accept('After'));
    await row.getByRole('button', { name: 'Rename Before' }).click();
    await row.locator('.video-title', { hasText: 'After' }).waitFor();
    expect((await getVideo(video.id)).title).toBe('After');

    const filter = owner.getByLabel('Show');
    await filter.selectOption('ready');
    await row.waitFor({ state: 'detached' });
    await filter.selectOption('uploaded');
    await row.waitFor();

    owner.once('dialog', (dialog) => void dialog.dismiss());
    await row.getByRole('button', { name: 'Delete After' }).click();
    expect((await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY })).status).toBe(200);
    owner.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Delete After' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await life.request('GET', `/v1/videos/${video.id}`, { apiKey: API_KEY })).status).toBe(404);
  });
});
