import { consumerGroups, type ConsumerGroupName } from '@video-pipeline/events';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { dropDatabase, withDatabaseName } from '../../libs/db/src/database-admin';
import { makeVideo } from '../support/fixtures';
import { eventually } from '../support/pipeline';
import { TEST_DATABASE_URL, TEST_STACK_SLOT } from '../support/test-env';
import { uploadFile } from '../support/upload-client';

jest.setTimeout(240_000);

const REPO_ROOT = path.resolve(__dirname, '../..');

/** `npm start` as a user runs it, in a process group of its own (as a terminal's foreground job), on ports and data of its own. */
class NpmStart {
  readonly output: string[] = [];
  readonly apiUrl: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly dataDir: string,
    readonly databaseUrl: string,
    private readonly basePort: number,
  ) {
    this.apiUrl = `http://127.0.0.1:${basePort}`;
    this.child = spawn('npm', ['start'], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_ENV: 'development',
        LOG_LEVEL: 'info', // the test stack's setup silences the services it starts; these must speak
        PORT: String(basePort),
        STACK_KAFKA_PORT: String(basePort + 1), // and its controller on the next
        STACK_S3_PORT: String(basePort + 3),
        STACK_DATA_DIR: dataDir,
        METRICS_PORT: String(basePort + 4), // the workers' health and metrics ports, one each from here, in the groups' order
        DATABASE_URL: databaseUrl,
        API_KEYS: 'start-key:dave',
      },
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.output.push(line));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  logged(text: string): string[] {
    return this.output.filter((line) => line.includes(text));
  }

  /** A worker's health and metrics address (one instance per group, numbered in the groups' order). */
  metricsUrl(group: ConsumerGroupName): string {
    return `http://127.0.0.1:${this.basePort + 4 + consumerGroups.indexOf(group)}`;
  }

  /** Kafka's and s3proxy's pids, from the pid files the stack keeps in its data directory. */
  async serverPids(): Promise<number[]> {
    return Promise.all(['kafka/broker.pid', 's3/s3proxy.pid'].map(async (file) => (JSON.parse(await fs.readFile(path.join(this.dataDir, file), 'utf8')) as { pid: number }).pid));
  }

  signalNpm(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** What a terminal's Ctrl-C does: the signal to every process of the foreground group. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.child.pid!, signal);
  }

  async exit(timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`npm start still running after ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`)), timeoutMs).unref());
    return Promise.race([this.exited, timeout]);
  }

  /** Resolves once the banner is printed; throws with the output's tail if npm start exits or takes too long. */
  async ready(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.logged('Video pipeline is running').length === 0) {
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`npm start ${this.child.exitCode === null ? `not ready after ${timeoutMs} ms` : `exited with ${this.child.exitCode}`}:\n${this.output.slice(-30).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * Every process of this run, found by the environment they all inherit:
   * npm, the CLI, the services and the servers (which run in process groups
   * of their own, out of reach of a signal to npm's).
   */
  async processes(): Promise<number[]> {
    const marker = `\0STACK_DATA_DIR=${this.dataDir}\0`;
    const pids = (await fs.readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
    const environs = await Promise.all(pids.map((pid) => fs.readFile(`/proc/${pid}/environ`, 'utf8').then((text) => `\0${text}`, () => '')));
    return pids.filter((_, index) => environs[index]!.includes(marker));
  }

  /** Whatever a failed test left running: a graceful stop first, then SIGKILL to what remains. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null) {
      this.signalNpm('SIGTERM');
      await this.exit(30_000).catch(() => undefined);
    }
    for (const pid of await this.processes()) process.kill(pid, 'SIGKILL');
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const isServed = async (url: string) =>
  fetch(url).then(
    () => true,
    () => false,
  );

/**
 * The README's quick start: `npm start` brings up the stack and every
 * service, an upload reaches every consumer group, and stopping npm stops
 * all of it, services first, leaving no process behind.
 */
describe('npm start', () => {
  const started: NpmStart[] = [];
  const dataDirs: string[] = [];
  const databases: string[] = [];

  afterEach(async () => {
    await Promise.all(started.splice(0).map((run) => run.kill()));
    await Promise.all(dataDirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
    await Promise.all(databases.splice(0).map((url) => dropDatabase(url).catch(() => undefined)));
  });

  async function startPipeline(basePort: number): Promise<NpmStart> {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'npm-start-'));
    const databaseUrl = withDatabaseName(TEST_DATABASE_URL, `vp_npm_start_${randomUUID().slice(0, 8)}`);
    dataDirs.push(dataDir);
    databases.push(databaseUrl);
    const run = new NpmStart(dataDir, databaseUrl, basePort + 10 * TEST_STACK_SLOT);
    started.push(run);
    await run.ready();
    return run;
  }

  async function expectAllStopped(run: NpmStart, serverPids: number[]): Promise<void> {
    expect(run.logged('pipeline: stopped')).toHaveLength(1);
    for (const service of ['upload-api', 'outbox-relay', ...consumerGroups]) expect(run.logged(`[${service}] stopped`)).toHaveLength(1);
    // No service crashed (the supervisor would have restarted it) or failed to stop cleanly (it would exit 1).
    expect([...run.logged('exited ('), ...run.logged('could not stop cleanly')]).toEqual([]);
    expect(serverPids.filter(isAlive)).toEqual([]);
    expect(await run.processes()).toEqual([]);
    expect(await isServed(`${run.apiUrl}/healthz`)).toBe(false);
  }

  it('carries an upload to every group, serves their metrics, and SIGTERM to npm stops everything', async () => {
    const run = await startPipeline(19_800);
    const pids = await run.serverPids();
    expect(pids.filter(isAlive)).toHaveLength(2);
    // npm, the CLI, Kafka, s3proxy, the upload API, the relay and five workers
    expect((await run.processes()).length).toBeGreaterThanOrEqual(11);

    const upload = await uploadFile(run.apiUrl, 'start-key', { file: { path: await makeVideo({ seconds: 1 }) }, fields: { title: 'quick start' } });
    expect(upload.status).toBe(201);
    const videoId = upload.body.id as string;
    const handled = (group: string) => run.output.find((line) => line.includes(`[${group}] video uploaded`) && line.includes(videoId));
    await eventually(async () => consumerGroups.every(handled), 60_000, 'every group to receive the upload').catch((error: Error) => {
      throw new Error(`${error.message}; not received by ${consumerGroups.filter((group) => !handled(group)).join(', ')}:\n${run.output.slice(-30).join('\n')}`);
    });
    // Every line about an event carries its id and the video's.
    expect(handled('transcoder')).toMatch(new RegExp(`eventId=[0-9a-f-]{36} .*videoId=${videoId}`));

    // Each worker counts the event it processed, once its effects are committed, on its own /metrics.
    for (const group of consumerGroups) {
      await eventually(
        async () => (await fetch(`${run.metricsUrl(group)}/metrics`).then((response) => response.text())).includes(`pipeline_events_processed_total{group="${group}",type="video.uploaded"} 1`),
        20_000,
        `${group}'s metrics to count the event`,
      );
      expect((await fetch(`${run.metricsUrl(group)}/readyz`)).status).toBe(200);
    }

    run.signalNpm('SIGTERM');
    await run.exit();
    await expectAllStopped(run, pids);
  });

  it('stops everything on Ctrl-C, which signals every process of the group', async () => {
    const run = await startPipeline(19_850);
    const pids = await run.serverPids();

    run.signalGroup('SIGINT');
    await run.exit();
    await expectAllStopped(run, pids);
  });
});
