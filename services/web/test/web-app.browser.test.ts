import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WEB_APP_DIST_DIR, buildWebApp } from '../../../infra/web-app';
import { makeVideo } from '../../../test/support/fixtures';
import { videoLike } from '../../../test/support/upload-fixtures';
import { ADMIN_API_KEY, API_KEY, OTHER_API_KEY, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { getJson, uploadFile } from '../../../test/support/upload-client';
import { launchBrowser, screenshot, seriousAxeViolations } from './support/browser';

interface ListedVideo {
  id: string;
  title: string | null;
  status: string;
  object: { key: string; sha256: string; sizeBytes: number };
}

/**
 * The web app in headless Chromium against the API in-process on the test
 * stack (Postgres, S3): sign in, upload through the page, refusals, another
 * owner's video, and axe-core on every page.
 */
describe('the web app in a browser', () => {
  const config = testConfig(uniquePrefix('web'), { S3_BUCKET: `web-${Date.now().toString(36)}`, WEBHOOK_ALLOWED_TARGETS: '127.0.0.1' });
  let api: RunningApi;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const created: ListedVideo[] = [];

  beforeAll(async () => {
    await buildWebApp();
    [api, browser] = await Promise.all([startUploadApi(config, { webAppDir: WEB_APP_DIST_DIR }), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    for (const video of created) await api.removeVideo(video);
    await api?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
  });

  const url = (pathname: string) => `${api.baseUrl}${pathname}`;
  const listOwn = async (key = API_KEY) => ((await getJson(api.baseUrl, '/v1/videos?limit=100', key)).body as { items: ListedVideo[] }).items;
  /** Signed in as alice without the form (the first test covers the form). */
  const signedIn = () => context.addInitScript((key) => localStorage.setItem('video-pipeline.session', JSON.stringify({ key, role: 'owner' })), API_KEY);
  const expectNoSeriousViolations = async (where: string) => expect([where, await seriousAxeViolations(page)]).toEqual([where, []]);

  it('signs in with an API key: a wrong key gets a clear message, the right one opens the library and is kept', async () => {
    await page.goto(url('/'));
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectNoSeriousViolations('sign-in');

    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('That API key was not recognised');
    await screenshot(page, 'sign-in-wrong-key');

    // By keyboard alone: the field is the first stop, Enter submits.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('api-key');
    await page.keyboard.type(API_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Your videos' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Your videos' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it("opens the reviewers' page for an admin key, without owners' pages (or says calmly the server has no reviews yet)", async () => {
    await page.goto(url('/'));
    await page.getByLabel('API key').fill(ADMIN_API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Reviews' }).waitFor();
    const offersReviews = ((await (await fetch(url('/openapi.json'))).json()) as { paths: Record<string, unknown> }).paths['/v1/reviews'] !== undefined;
    if (offersReviews) await page.locator('.review-list').waitFor({ state: 'attached' });
    else await page.getByText('Reviewing is not available on this server yet.').waitFor();
    expect(await page.getByRole('link', { name: 'Upload' }).count()).toBe(0);
    await expectNoSeriousViolations('reviews');
  });

  it('uploads a clip through the page with moving progress, and its row appears in the library', async () => {
    const file = await makeVideo({ seconds: 4, size: '640x360' });
    const bytes = await fs.readFile(file);
    const cspErrors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && /Content.Security.Policy/i.test(message.text()) && cspErrors.push(message.text()));
    await signedIn();
    // Slow the upload down so the progress has time to be seen moving.
    const devtools = await context.newCDPSession(page);
    await devtools.send('Network.enable');
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: Math.ceil(bytes.length / 3) });

    await page.goto(url('/upload'));
    await page.getByRole('heading', { name: 'Upload videos' }).waitFor();
    await expectNoSeriousViolations('upload');
    await page.setInputFiles('#file-picker', { name: 'Test pattern.mp4', mimeType: 'video/mp4', buffer: bytes });

    const row = page.locator('.upload').first();
    const seen = new Set<number>();
    let sawSpeed = false;
    for (let deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      const state = await row.getAttribute('data-state');
      seen.add(Number(await row.locator('progress').getAttribute('value')));
      sawSpeed ||= /\/s · .* left/.test((await row.locator('.upload-status').textContent()) ?? '');
      if (seen.size === 3) await screenshot(page, 'upload-progress');
      if (state !== 'uploading') break;
      await page.waitForTimeout(100);
    }
    expect(await row.getAttribute('data-state')).toBe('done');
    expect([...seen].some((percent) => percent > 0 && percent < 100)).toBe(true);
    expect(sawSpeed).toBe(true);
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    const mine = (await listOwn()).filter((video) => video.title === 'Test pattern');
    created.push(...mine);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.object.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    await row.getByRole('link', { name: 'Open the video' }).click();
    await page.getByRole('heading', { name: 'Test pattern' }).waitFor();
    expect(page.url()).toBe(url(`/videos/${mine[0]!.id}`));
    await expectNoSeriousViolations('player (processing)');

    await page.getByRole('link', { name: 'Library' }).click();
    const listed = page.locator(`[data-video-id="${mine[0]!.id}"]`);
    await listed.waitFor();
    expect(await listed.locator('.video-title').textContent()).toBe('Test pattern');
    expect(await listed.locator('.badge').textContent()).toBe('Uploaded');
    await expectNoSeriousViolations('library');
    await screenshot(page, 'library');
    expect(cspErrors).toEqual([]);
  });

  it('pauses and resumes a tus upload, and resumes one after a page reload: one video each, byte for byte', async () => {
    const first = await makeVideo({ seconds: 8, size: '640x360' });
    // Three of the server's 8 MiB parts: storage keeps whole parts, so the reload below must come after the first.
    const second = path.join(os.tmpdir(), `three-parts-${process.pid}.mp4`);
    await fs.writeFile(second, await videoLike(24 * 1024 * 1024));
    await signedIn();
    const devtools = await context.newCDPSession(page);
    await devtools.send('Network.enable');
    const slow = async (file: string) => {
      const { size } = await fs.stat(file);
      await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: Math.ceil(size / 6) });
    };
    const percent = async () => Number(await page.locator('.upload progress').first().getAttribute('value'));
    const reachPercent = async (at: number) => {
      for (let deadline = Date.now() + 30_000; (await percent()) < at; ) {
        if (Date.now() > deadline) throw new Error(`the upload did not reach ${at}%`);
        await page.waitForTimeout(100);
      }
    };

    // Picked before the app has heard what the API offers (CI once picked that fast): it must still go by tus,
    // not by the simple POST, which cannot pause.
    let answerFeatures = () => {};
    const featuresHeld = new Promise<void>((resolve) => (answerFeatures = resolve));
    await page.route('**/openapi.json', async (route) => {
      await featuresHeld;
      await route.continue();
    });
    await slow(first);
    await page.goto(url('/upload'));
    await page.setInputFiles('#file-picker', first);
    await page.waitForTimeout(300);
    answerFeatures();
    await reachPercent(20);
    await page.getByRole('button', { name: 'Pause' }).click();
    const pausedAt = await percent();
    await page.waitForTimeout(1_000);
    expect(await page.locator('.upload').first().getAttribute('data-state')).toBe('paused');
    expect(await percent()).toBe(pausedAt);
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.upload[data-state="done"]').waitFor({ timeout: 30_000 });

    await slow(second);
    await page.goto(url('/upload'));
    await page.setInputFiles('#file-picker', second);
    await reachPercent(60);
    await page.reload();
    await page.setInputFiles('#file-picker', second);
    // It goes on from what the server kept (tus-js-client finds the upload by the file's fingerprint), not from 0:
    // at least the first 8 MiB part, stored whole (a PATCH cut mid-part keeps its whole parts only).
    await reachPercent(1);
    expect(await percent()).toBeGreaterThanOrEqual(30);
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.locator('.upload[data-state="done"]').waitFor({ timeout: 30_000 });

    const videos = await listOwn();
    for (const file of [first, second]) {
      const sha256 = createHash('sha256').update(await fs.readFile(file)).digest('hex');
      const matching = videos.filter((video) => video.object.sha256 === sha256);
      created.push(...matching);
      expect([path.basename(file), matching.length]).toEqual([path.basename(file), 1]);
    }
    await fs.rm(second);
  });

  it('shows the API message when a file is refused, and keeps nothing', async () => {
    const text = path.join(os.tmpdir(), `notes-${process.pid}.txt`);
    await fs.writeFile(text, 'These are notes, not a video.\n'.repeat(200));
    const direct = await uploadFile(api.baseUrl, API_KEY, { file: { path: text, name: 'notes.txt', type: 'text/plain' } });
    expect(direct.status).toBe(415);
    const before = await listOwn();

    await signedIn();
    await page.goto(url('/upload'));
    await page.setInputFiles('#file-picker', text);
    const row = page.locator('.upload').first();
    await page.locator('.upload[data-state="failed"]').waitFor();
    expect(await row.getByRole('alert').textContent()).toBe((direct.body as { error: { message: string } }).error.message);
    await expectNoSeriousViolations('upload refused');
    expect((await listOwn()).map((video) => video.id)).toEqual(before.map((video) => video.id));
  });

  it('shows the size limit when a file is too large, even when the API refuses before reading it', async () => {
    const small = await startUploadApi(config, { webAppDir: WEB_APP_DIST_DIR, maxUploadBytes: 100_000 });
    try {
      const clip = await fs.readFile(await makeVideo({ seconds: 4, size: '640x360' }));
      // Over the limit by more than 1 MiB: refused on its Content-Length, before the body is read.
      const large = Buffer.concat([clip, clip]);
      expect(large.length).toBeGreaterThan(100_000 + 1024 * 1024);
      await signedIn();
      await page.goto(`${small.baseUrl}/upload`);
      await page.setInputFiles('#file-picker', [
        { name: 'big.mp4', mimeType: 'video/mp4', buffer: large },
        { name: 'medium.mp4', mimeType: 'video/mp4', buffer: clip },
      ]);
      for (const name of ['big.mp4', 'medium.mp4']) {
        const row = page.locator('.upload[data-state="failed"]', { hasText: name });
        await row.waitFor();
        expect([name, await row.getByRole('alert').textContent()]).toEqual([name, expect.stringMatching(/at most 100000 bytes/i)]);
      }
      expect(await listOwn()).toEqual(expect.not.arrayContaining([expect.objectContaining({ title: expect.stringMatching(/^(big|medium)$/) })]));
    } finally {
      await small.close();
    }
  });

  it('manages webhooks in settings: a refused target shows why, the secret is shown once, a test is logged, delete asks first', async () => {
    const refusedUrl = 'http://127.0.0.2:9/hook';
    const direct = await fetch(url('/v1/webhooks'), {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: refusedUrl, events: ['video.ready', 'video.failed'] }),
    });
    expect(direct.status).toBeGreaterThanOrEqual(400);
    const refusal = ((await direct.json()) as { error: { message: string } }).error.message;

    await signedIn();
    await page.goto(url('/settings'));
    await page.getByLabel('Endpoint URL').fill(refusedUrl);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    expect(await page.getByRole('alert').textContent()).toBe(refusal);

    // Allowed through WEBHOOK_ALLOWED_TARGETS; nothing listens there, and no dispatcher runs in this test.
    await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/hook');
    await page.getByLabel('video.uploaded').check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = page.locator('.secret');
    await secret.waitFor();
    expect(await secret.textContent()).toMatch(/^whsec_/);
    const card = page.locator('[data-webhook-id]', { hasText: 'http://127.0.0.1:9/hook' });
    await card.waitFor();
    expect(await card.locator('.video-meta').textContent()).toContain('video.uploaded');
    await expectNoSeriousViolations('settings');
    await screenshot(page, 'settings');

    await page.reload();
    await card.waitFor();
    expect(await page.locator('.secret').count()).toBe(0);

    await card.getByRole('button', { name: 'Send a test' }).click();
    await card.locator('tbody tr', { hasText: 'webhook.test' }).waitFor();

    const id = await card.getAttribute('data-webhook-id');
    page.once('dialog', (dialog) => void dialog.dismiss());
    await card.getByRole('button', { name: 'Delete' }).click();
    expect((await fetch(url(`/v1/webhooks/${id}`), { headers: { Authorization: `Bearer ${API_KEY}` } })).status).toBe(200);
    page.once('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.waitFor({ state: 'detached' });
    expect((await fetch(url(`/v1/webhooks/${id}`), { headers: { Authorization: `Bearer ${API_KEY}` } })).status).toBe(404);

    // The analytics section below draws its charts (uPlot, loaded with it) from the summary route.
    await page.getByRole('heading', { name: 'Uploads per day' }).waitFor();
    await page.getByRole('img', { name: 'Processing time percentiles per stage' }).locator('canvas').waitFor();
    expect(await page.locator('.chart canvas').count()).toBe(2);
    const summary = (await (await fetch(url('/v1/analytics/summary'), { headers: { Authorization: `Bearer ${API_KEY}` } })).json()) as { stages: { stage: string; succeeded: number }[] };
    for (const stage of summary.stages) expect(await page.locator(`tr[data-stage="${stage.stage}"] td`).first().textContent()).toBe(String(stage.succeeded));
    await expectNoSeriousViolations('settings with analytics');
  });

  it("shows a webhook's delivery log attempt by attempt: what the endpoint answered and how fast, and an attempt lost with no answer", async () => {
    const created = await fetch(url('/v1/webhooks'), {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/delivery-log', events: ['video.ready'] }),
    });
    expect(created.status).toBe(201);
    const hook = (await created.json()) as { id: string };
    const lostMessage = 'the dispatcher sending this attempt stopped before it recorded an answer; whether the endpoint got it is unknown, so it is sent again';
    const lost = { statusCode: null, latencyMs: null, errorCode: 'webhook_attempt_lost', errorMessage: lostMessage };
    // As the dispatcher leaves them (no dispatcher runs here): one delivered on its second attempt after a lost first,
    // one whose only attempt so far was lost, waiting to be sent again.
    const delivery = (id: string, createdAt: Date, rest: object) => ({ id, subscriptionId: hook.id, eventId: randomUUID(), eventType: 'video.ready', body: '{}', createdAt, ...rest });
    const [delivered, resending] = [randomUUID(), randomUUID()];
    try {
      await api.prisma.webhookDelivery.createMany({
        data: [
          delivery(delivered, new Date(Date.now() - 60_000), { status: 'succeeded', attempts: 2, lastStatusCode: 200, finishedAt: new Date() }),
          delivery(resending, new Date(), { status: 'pending', attempts: 1, nextAttemptAt: new Date(Date.now() + 3_600_000) }),
        ],
      });
      await api.prisma.webhookAttempt.createMany({
        data: [
          { deliveryId: delivered, attempt: 1, startedAt: new Date(Date.now() - 50_000), ...lost },
          { deliveryId: delivered, attempt: 2, startedAt: new Date(Date.now() - 10_000), statusCode: 200, latencyMs: 42, errorCode: null, errorMessage: null },
          { deliveryId: resending, attempt: 1, startedAt: new Date(Date.now() - 5_000), ...lost },
        ],
      });

      await signedIn();
      await page.goto(url('/settings'));
      const card = page.locator(`[data-webhook-id="${hook.id}"]`);
      await card.getByRole('button', { name: 'Show deliveries' }).click();
      const log = card.getByRole('table', { name: 'Latest deliveries' });
      await log.waitFor();
      const rows = log.locator('tbody tr');
      // Newest first: the one waiting to be sent again, then the delivered one.
      expect(await rows.count()).toBe(2);
      expect(await rows.nth(0).locator('td').nth(2).textContent()).toBe('pending');
      expect(await rows.nth(1).locator('td').nth(2).textContent()).toBe('succeeded');

      const attemptsOf = (row: number) => rows.nth(row).locator('.attempts li');
      // The message has no regular expression characters in it.
      const lostText = new RegExp(`^Attempt 1, .+: no answer \\(webhook_attempt_lost\\): ${lostMessage}$`);
      expect(await attemptsOf(1).allTextContents()).toEqual([expect.stringMatching(lostText), expect.stringMatching(/^Attempt 2, .+: 200 in 42 ms$/)]);
      expect(await attemptsOf(0).allTextContents()).toEqual([expect.stringMatching(lostText)]);
      // No latency for an attempt nobody knows the answer to.
      expect(await attemptsOf(0).first().textContent()).not.toMatch(/\d ms/);
      await expectNoSeriousViolations('settings with a delivery log');
      await screenshot(page, 'webhook-delivery-log');

      // At phone width the log scrolls sideways in its own region (focusable, for the keyboard); the page does not widen.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.reload();
      await card.getByRole('button', { name: 'Show deliveries' }).click();
      const region = card.getByRole('region', { name: 'Latest deliveries' });
      await region.waitFor();
      await screenshot(page, 'webhook-delivery-log-phone');
      expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBe(390);
      const widths = await region.evaluate((element) => ({ content: element.scrollWidth, shown: element.clientWidth }));
      expect(widths.content).toBeGreaterThan(widths.shown);
      await region.focus();
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction((element) => element.scrollLeft > 0, await region.elementHandle(), { timeout: 5_000 });
      await expectNoSeriousViolations('settings with a delivery log at phone width');
    } finally {
      expect((await fetch(url(`/v1/webhooks/${hook.id}`), { method: 'DELETE', headers: { Authorization: `Bearer ${API_KEY}` } })).status).toBe(204);
    }
  });

  it('draws failure reasons as a bar chart per stage, named with its data, and keeps the table', async () => {
    // Facts as the analytics group records them from failure events (this file's own consumer group, alice's).
    const factsOf = config.kafka.topicPrefix + 'analytics';
    const failures = [
      ['transcode', 'media_undecodable'],
      ['transcode', 'media_undecodable'],
      ['transcode', 'media_processing_failed'],
      ['thumbnails', 'media_processing_failed'],
    ] as const;
    await api.prisma.analyticsFact.createMany({
      data: failures.map(([stage, reasonCode]) => ({
        consumerGroup: factsOf,
        eventId: randomUUID(),
        eventType: `video.${stage === 'transcode' ? 'transcode' : 'thumbnails'}.failed`,
        videoId: randomUUID(),
        ownerId: 'alice',
        occurredAt: new Date(),
        stage,
        outcome: 'failed',
        reasonCode,
      })),
    });
    try {
      await signedIn();
      await page.goto(url('/settings'));
      const chart = page.getByRole('img', { name: /^Failures by reason code per stage/ });
      await chart.locator('canvas').waitFor();
      const name = await chart.getAttribute('aria-label');
      for (const part of ['transcode media_undecodable 2', 'transcode media_processing_failed 1', 'thumbnails media_processing_failed 1']) expect(name).toContain(part);
      // The legend names each stage; the caption says what the colours mean; the table keeps the numbers for screen readers.
      expect(await chart.locator('.u-legend').textContent()).toMatch(/thumbnails[\s\S]*transcode|transcode[\s\S]*thumbnails/);
      expect(await page.locator('figure.failure-chart figcaption').textContent()).toContain('one colour per stage');
      const rows = page.getByRole('table', { name: 'Failures by stage and reason' }).locator('tbody tr');
      expect(await rows.allTextContents()).toEqual(expect.arrayContaining(['transcodemedia_undecodable2', 'thumbnailsmedia_processing_failed1']));
      expect(await page.locator('.chart canvas').count()).toBe(3);
      await expectNoSeriousViolations('settings with the failure chart');
      await screenshot(page, 'analytics-failures');
    } finally {
      await api.prisma.analyticsFact.deleteMany({ where: { consumerGroup: factsOf } });
    }
  });

  it('works at phone width: library, upload and settings, each without serious axe violations', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signedIn();
    const offersWebhooks = ((await (await fetch(url('/openapi.json'))).json()) as { paths: Record<string, unknown> }).paths['/v1/webhooks'] !== undefined;
    for (const [pathname, heading] of [
      ['/', 'Your videos'],
      ['/upload', 'Upload videos'],
      ['/settings', 'Settings'],
    ] as const) {
      await page.goto(url(pathname));
      await page.getByRole('heading', { name: heading }).waitFor();
      // Nothing wider than the screen.
      expect([pathname, await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)]).toEqual([pathname, 390]);
      await expectNoSeriousViolations(`${pathname} at phone width`);
    }
    if (offersWebhooks) await page.getByRole('button', { name: 'Add webhook' }).waitFor();
    else await page.getByText('Webhooks are not available on this server yet.').waitFor();
    await page.goto(url('/'));
    await page.getByRole('heading', { name: 'Your videos' }).waitFor();
    await screenshot(page, 'library-phone');
  });

  it('pages through the library, newest first', async () => {
    const clip = await makeVideo({ seconds: 1 });
    for (let n = 1; n <= 21; n += 1) {
      const response = await uploadFile(api.baseUrl, API_KEY, { file: { path: clip }, fields: { title: `Paged ${String(n).padStart(2, '0')}` } });
      created.push(response.body as ListedVideo);
    }
    const newest = (await listOwn()).map((video) => video.title);
    await signedIn();
    await page.goto(url('/'));
    await page.getByRole('heading', { name: 'Your videos' }).waitFor();
    await page.locator('.video-row').nth(19).waitFor();
    expect(await page.locator('.video-title').allTextContents()).toEqual(newest.slice(0, 20));
    await page.getByRole('button', { name: 'Show more' }).click();
    await page.locator('.video-row').nth(20).waitFor();
    expect((await page.locator('.video-title').allTextContents()).slice(0, 21)).toEqual(newest.slice(0, 21));
    expect((await page.locator('.video-title').allTextContents()).slice(0, 3)).toEqual(['Paged 21', 'Paged 20', 'Paged 19']);
  });

  it('loads under 250 kB of gzipped JavaScript on first load of the library', async () => {
    const scripts = new Map<string, number>();
    page.on('response', async (response) => {
      if (response.request().resourceType() === 'script') scripts.set(response.url(), gzipSync(await response.body()).length);
    });
    await signedIn();
    // Not 'networkidle': the library keeps event streams open for videos still on their way.
    await page.goto(url('/'), { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Your videos' }).waitFor();
    await page.locator('.video-list[aria-busy="false"]').waitFor({ state: 'attached' });
    const total = [...scripts.values()].reduce((sum, size) => sum + size, 0);
    process.stdout.write(`web app first load: ${scripts.size} script(s), ${(total / 1024).toFixed(1)} KiB gzipped\n`);
    expect(scripts.size).toBeGreaterThan(0);
    expect(total).toBeLessThan(250 * 1024);
    // The player's code (hls.js) is not part of it.
    expect([...scripts.keys()].filter((script) => /\/assets\/(hls|player)-/.test(script))).toEqual([]);
  });

  it("says \"not found\" for another owner's video and for one that does not exist", async () => {
    const clip = await makeVideo({ seconds: 1 });
    const bobs = await uploadFile(api.baseUrl, OTHER_API_KEY, { file: { path: clip }, fields: { title: "Bob's clip" } });
    expect(bobs.status).toBe(201);
    created.push(bobs.body as ListedVideo);

    await signedIn();
    for (const id of [(bobs.body as ListedVideo).id, '0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee']) {
      await page.goto(url(`/videos/${id}`));
      await page.getByRole('heading', { name: 'Not found' }).waitFor();
      expect(await page.getByText("Bob's clip").count()).toBe(0);
    }
    await expectNoSeriousViolations('not found');
    await page.goto(url('/no/such/page'));
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
  });
});
