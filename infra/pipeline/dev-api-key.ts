import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The development API key `npm start` prints: made once, kept in the data
 * folder, so a restarted stack accepts the same key (and sees the same videos).
 */
export async function devApiKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'dev-api-key');
  const existing = await fs.readFile(file, 'utf8').catch(() => '');
  if (existing.trim()) return existing.trim();
  const key = `dev_${randomBytes(18).toString('base64url')}`;
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}
