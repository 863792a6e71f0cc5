import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** The web app's sources and where Vite builds it; the upload API serves that folder at `/`. */
export const WEB_APP_SOURCE_DIR = path.join(ROOT, 'services', 'web');
export const WEB_APP_DIST_DIR = path.join(WEB_APP_SOURCE_DIR, 'dist');

/** Builds the web app with Vite (about a second), on the Node running us. Fails with Vite's output. */
export async function buildWebApp(): Promise<void> {
  const vite = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const child = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: WEB_APP_SOURCE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`building the web app failed (vite build exited ${code}):\n${output}`);
}

/** What the build is made from, beside `src/`. */
const BUILD_INPUTS = ['index.html', 'package.json', 'vite.config.mts'];

/**
 * Whether the web app needs a build: `dist/index.html` is missing, or a
 * source (`src/`, `index.html`, the Vite config, `package.json`) changed
 * after it was written (a `git pull`, an edit).
 */
export function webAppIsStale(sourceDir = WEB_APP_SOURCE_DIR, distDir = path.join(sourceDir, 'dist')): boolean {
  const built = fs.statSync(path.join(distDir, 'index.html'), { throwIfNoEntry: false });
  if (!built) return true;
  const sources = [
    ...BUILD_INPUTS.map((name) => path.join(sourceDir, name)),
    ...fs.readdirSync(path.join(sourceDir, 'src'), { recursive: true, encoding: 'utf8' }).map((name) => path.join(sourceDir, 'src', name)),
  ];
  return sources.some((file) => {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    return stat?.isFile() === true && stat.mtimeMs > built.mtimeMs; // a folder's time changes with any file added to it, built or not
  });
}

/** Builds the web app when it is missing or older than its sources; `npm start` calls this before starting the API. */
export async function ensureWebAppBuilt(log: (message: string) => void): Promise<void> {
  if (!webAppIsStale()) return;
  log('building the web app (services/web)');
  await buildWebApp();
}
