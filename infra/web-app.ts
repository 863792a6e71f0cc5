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

/** Builds the web app when `dist/index.html` is missing; `npm start` calls this before starting the API. */
export async function ensureWebAppBuilt(log: (message: string) => void): Promise<void> {
  if (fs.existsSync(path.join(WEB_APP_DIST_DIR, 'index.html'))) return;
  log('building the web app (services/web)');
  await buildWebApp();
}
