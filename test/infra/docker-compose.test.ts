import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '@video-pipeline/config';

/** The `environment` lines of one service of docker-compose.yml, as `NAME: value` text (no YAML parser among our dependencies). */
async function composeEnvironment(service: string): Promise<Map<string, string>> {
  const text = await fs.readFile(path.join(__dirname, '../../docker-compose.yml'), 'utf8');
  const lines = text.split('\n');
  const start = lines.indexOf(`  ${service}:`);
  expect(start).toBeGreaterThan(-1);
  const end = lines.findIndex((line, index) => index > start && /^  \S/.test(line));
  const block = lines.slice(start, end === -1 ? undefined : end);
  const entries = block.map((line) => /^ {6}([A-Z][A-Z0-9_]*): (.+)$/.exec(line)).filter((match) => match !== null);
  return new Map(entries.map((match) => [match[1]!, match[2]!.trim()]));
}

describe('docker-compose.yml', () => {
  it('gives the upload API a playback secret from the environment, so playback URLs survive a container restart', async () => {
    const value = (await composeEnvironment('upload-api')).get('PLAYBACK_TOKEN_SECRET');
    const [, variable, placeholder] = /^\$\{(\w+):-(.+)\}$/.exec(value ?? '') ?? [];
    expect(variable).toBe('PLAYBACK_TOKEN_SECRET');
    // The placeholder is used when the variable is unset: it must be a secret the API accepts.
    expect(loadConfig({ PLAYBACK_TOKEN_SECRET: placeholder }).playback.tokenSecret).toBe(placeholder);
  });
});
