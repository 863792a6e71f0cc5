import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** A value made once and kept in a file of the data folder (owner-only), so a restarted stack reuses it. */
async function keptSecret(dataDir: string, fileName: string, make: () => string): Promise<string> {
  const file = path.join(dataDir, fileName);
  const existing = await fs.readFile(file, 'utf8').catch(() => '');
  if (existing.trim()) return existing.trim();
  const value = make();
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/**
 * The development API key `npm start` prints: made once, kept in the data
 * folder, so a restarted stack accepts the same key (and sees the same videos).
 */
export function devApiKey(dataDir: string): Promise<string> {
  return keptSecret(dataDir, 'dev-api-key', () => `dev_${randomBytes(18).toString('base64url')}`);
}

/**
 * The secret that signs playback URLs (PLAYBACK_TOKEN_SECRET) when the user
 * sets none: one for every API instance `npm start` runs, kept in the data
 * folder, so a URL one instance handed out plays through any other, and
 * after the API is restarted (by the supervisor, or the next `npm start`).
 */
export function devPlaybackTokenSecret(dataDir: string): Promise<string> {
  return keptSecret(dataDir, 'playback-token-secret', () => randomBytes(32).toString('base64url'));
}
