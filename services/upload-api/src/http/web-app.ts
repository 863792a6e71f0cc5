import fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/** Paths that belong to the API: an unknown one among them is the API's 404, never the app's page. */
const API_PREFIXES = ['/v1/', '/openapi.json', '/healthz', '/readyz', '/metrics', '/assets/'];

/**
 * The built web app (`services/web/dist`) at `/`, on the API's origin: its
 * hashed assets with a year-long immutable cache, and `index.html`
 * (revalidated on every load) for every other page path the app routes
 * itself, such as `/videos/<id>`. Mounted after the API's routes, so it never
 * shadows them.
 */
export function webAppRouter(dir: string): Router {
  const router = Router();
  const index = path.join(dir, 'index.html');
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: true }));
  router.use(express.static(dir, { index: false, maxAge: 0 }));
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/v1' || API_PREFIXES.some((prefix) => req.path.startsWith(prefix))) return next();
    if (!req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index, (error) => error && next(error));
  });
  return router;
}

/** Whether `dir` holds a built app. */
export function isWebAppBuilt(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'index.html'));
}
