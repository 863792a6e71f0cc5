import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '@video-pipeline/config';

/** One service's lines of docker-compose.yml (no YAML parser among our dependencies). */
async function serviceLines(service: string): Promise<string[]> {
  const text = await fs.readFile(path.join(__dirname, '../../docker-compose.yml'), 'utf8');
  const lines = text.split('\n');
  const start = lines.indexOf(`  ${service}:`);
  expect(start).toBeGreaterThan(-1);
  const end = lines.findIndex((line, index) => index > start && /^  \S/.test(line));
  return lines.slice(start, end === -1 ? undefined : end);
}

/** The `environment` lines of one service, as `NAME: value` text. */
async function composeEnvironment(service: string): Promise<Map<string, string>> {
  const entries = (await serviceLines(service)).map((line) => /^ {6}([A-Z][A-Z0-9_]*): (.+)$/.exec(line)).filter((match) => match !== null);
  return new Map(entries.map((match) => [match[1]!, match[2]!.trim()]));
}

/** A `${NAME:-default}` value: the variable it reads from the host's environment and its default. */
function fromHostEnvironment(value: string | undefined): { variable?: string; fallback?: string } {
  const [, variable, fallback] = /^\$\{(\w+):-(.*)\}$/.exec(value ?? '') ?? [];
  return { variable, fallback };
}

/** One service's `ports:` mappings, container port to host port. */
async function hostPorts(service: string): Promise<Map<number, number>> {
  const mappings = (await serviceLines(service)).map((line) => /^ {6}- "(\d+):(\d+)"$/.exec(line)).filter((match) => match !== null);
  return new Map(mappings.map((match) => [Number(match[2]), Number(match[1])]));
}

describe('docker-compose.yml', () => {
  it("signs direct uploads' part URLs for the address the host reaches the S3 container at, not the containers' own name", async () => {
    const environment = await composeEnvironment('upload-api');
    const { variable, fallback } = fromHostEnvironment(environment.get('S3_PUBLIC_ENDPOINT'));
    expect(variable).toBe('S3_PUBLIC_ENDPOINT');
    const { uploads } = loadConfig({ S3_ENDPOINT: 'http://s3:9000', S3_PUBLIC_ENDPOINT: fallback });
    const signedFor = new URL(uploads.publicS3Endpoint);
    expect(signedFor.hostname).toBe('localhost');
    // The port the host reaches: s3's mapping of its container port 9000.
    expect(Number(signedFor.port)).toBe((await hostPorts('s3')).get(9000));
  });

  it('gives every worker and the relay a known health and metrics port, for probes and scrapes', async () => {
    for (const service of ['transcoder', 'thumbnailer', 'moderation', 'analytics', 'notifications', 'outbox-relay']) {
      expect((await serviceLines(service)).join('\n')).toContain('<<: *pipeline-service');
    }
    // The environment every service shares (x-pipeline-env, at the top of the file).
    const text = await fs.readFile(path.join(__dirname, '../../docker-compose.yml'), 'utf8');
    const shared = text.slice(text.indexOf('x-pipeline-env:'), text.indexOf('\n\n', text.indexOf('x-pipeline-env:')));
    const [, port] = /^ {2}METRICS_PORT: "(\d+)"$/m.exec(shared) ?? [];
    expect(loadConfig({ METRICS_PORT: port }).metricsPort).toBeGreaterThan(0);
  });

  it("takes the reviewers' keys from the environment, none when unset", async () => {
    const { variable, fallback } = fromHostEnvironment((await composeEnvironment('upload-api')).get('ADMIN_API_KEYS'));
    expect(variable).toBe('ADMIN_API_KEYS');
    expect(loadConfig({ ADMIN_API_KEYS: fallback }).api.adminApiKeys.size).toBe(0);
    expect(loadConfig({ ADMIN_API_KEYS: 'rk:rita' }).api.adminApiKeys.get('rk')).toBe('rita');
  });

  it('gives the upload API a playback secret from the environment, so playback URLs survive a container restart', async () => {
    const { variable, fallback: placeholder } = fromHostEnvironment((await composeEnvironment('upload-api')).get('PLAYBACK_TOKEN_SECRET'));
    expect(variable).toBe('PLAYBACK_TOKEN_SECRET');
    // The placeholder is used when the variable is unset: it must be a secret the API accepts.
    expect(loadConfig({ PLAYBACK_TOKEN_SECRET: placeholder }).playback.tokenSecret).toBe(placeholder);
  });
});
