import fs from 'node:fs/promises';
import path from 'node:path';
import { WEB_APP_DIST_DIR, buildWebApp } from '../../../infra/web-app';
import { API_KEY, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

/** The built web app on the API's origin, beside the API and never in its way. */
describe('the API serves the web app at /', () => {
  const config = testConfig(uniquePrefix('web-app'));
  let api: RunningApi;
  let script: string;

  beforeAll(async () => {
    await buildWebApp();
    const html = await fs.readFile(path.join(WEB_APP_DIST_DIR, 'index.html'), 'utf8');
    script = /src="(\/assets\/index-[^"]+\.js)"/.exec(html)![1]!;
    api = await startUploadApi(config, { webAppDir: WEB_APP_DIST_DIR });
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = (urlPath: string, headers: Record<string, string> = { Accept: 'text/html' }) => fetch(`${api.baseUrl}${urlPath}`, { headers });

  it.each(['/', '/upload', '/videos/2f1b5a4e-0000-4000-8000-000000000000'])('answers the app page %s with index.html, revalidated on each load', async (page) => {
    const response = await get(page);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('<div id="app">');
  });

  it('serves hashed assets with a long immutable cache, under a policy that lets the player use blob: media', async () => {
    const response = await get(script, { Accept: '*/*' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const page = await get('/');
    const policy = page.headers.get('content-security-policy')!;
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("media-src 'self' blob:");
  });

  it('leaves the API its own answers: routes, its 404s and a missing asset stay JSON', async () => {
    const openapi = await get('/openapi.json');
    expect(openapi.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await openapi.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
    expect((await get('/healthz')).headers.get('content-type')).toMatch(/^application\/json/);

    for (const missing of ['/v1/nothing-here', '/v1', '/assets/index-missing.js', '/readyz/extra']) {
      const response = await get(missing);
      expect([missing, response.status]).toEqual([missing, 404]);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    const post = await fetch(`${api.baseUrl}/upload`, { method: 'POST', headers: { Accept: 'text/html' } });
    expect(post.status).toBe(404);

    const list = await fetch(`${api.baseUrl}/v1/videos?limit=1`, { headers: { Authorization: `Bearer ${API_KEY}`, Accept: 'text/html' } });
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('answers a client that does not take HTML with the API 404, not the page', async () => {
    const response = await get('/upload', { Accept: 'application/json' });
    expect(response.status).toBe(404);
  });
});
