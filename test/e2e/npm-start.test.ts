import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { consumerGroups, type ConsumerGroupName } from '@video-pipeline/events';
import { dropDatabase, withDatabaseName } from '../../libs/db/src/database-admin';
import { makeVideo } from '../support/fixtures';
import { eventually } from '../support/pipeline';
import { TEST_DATABASE_URL, TEST_STACK_SLOT } from '../support/test-env';
import { getJson, uploadFile } from '../support/upload-client';

jest.setTimeout(300_000);

const REPO_ROOT = path.resolve(__dirname, '../..');
const FAIL_SERVICE_PRELOAD = path.join(__dirname, 'fixtures', 'fail-service.cjs');
const SERVICE_NAMES = ['upload-api', 'outbox-relay', ...consumerGroups];

interface NpmStartOptions {
  /** An external database (DATABASE_URL); without one, the stack runs a Postgres of its own on basePort + 4. */
  databaseUrl?: string;
  env?: NodeJS.ProcessEnv;
}

/** `npm start` as a user runs it, in a process group of its own (as a terminal's foreground job), on ports and data of its own. */
class NpmStart {
  readonly output: string[] = [];
  readonly apiUrl: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly dataDir: string,
    readonly basePort: number,
    options: NpmStartOptions,
  ) {
    this.apiUrl = `http://127.0.0.1:${basePort}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info', // the test stack's setup silences the services it starts; these must speak
      PORT: String(basePort),
      STACK_KAFKA_PORT: String(basePort + 1), // and its controller on the next
      STACK_S3_PORT: String(basePort + 3),
      STACK_POSTGRES_PORT: String(basePort + 4),
      STACK_DATA_DIR: dataDir,
      METRICS_PORT: '0',
      API_KEYS: 'start-key:dave',
      ...options.env,
    };
    // The test stack's setup points this process at its database; a run of its own must not inherit that.
    if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
    else delete env.DATABASE_URL;
    this.child = spawn('npm', ['start'], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    for (const stream of [this.child.stdout!, this.child.stderr!]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.output.push(line));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  logged(text: string): string[] {
    return this.output.filter((line) => line.includes(text));
  }

  /** A worker's health and metrics address, from the port it logged when it started (npm start picks free ones). */
  metricsUrl(group: ConsumerGroupName): string {
    const port = new RegExp(`\\[${group}\\] worker running healthPort=(\\d+)`).exec(this.logged(`[${group}] worker running`)[0] ?? '')?.[1];
    if (!port) throw new Error(`${group} logged no health port:\n${this.output.slice(-20).join('\n')}`);
    return `http://127.0.0.1:${port}`;
  }

  /** Kafka's, s3proxy's and, with a Postgres of its own, Postgres' pids, from the pid files the stack keeps in its data directory. */
  async serverPids(): Promise<number[]> {
    const files = ['kafka/broker.pid', 's3/s3proxy.pid', 'postgres/postgres.pid'];
    const pids = await Promise.all(files.map((file) => fs.readFile(path.join(this.dataDir, file), 'utf8').then((text) => (JSON.parse(text) as { pid: number }).pid, () => undefined)));
    return pids.filter((pid) => pid !== undefined);
  }

  signalNpm(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** What a terminal's Ctrl-C (or a crashed terminal's kill) does: the signal to every process of the foreground group. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.child.pid!, signal);
  }

  async exit(timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`npm start still running after ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`)), timeoutMs).unref());
    return Promise.race([this.exited, timeout]);
  }

  /** Resolves once the banner is printed; throws with the output's tail if npm start exits or takes too long. */
  async ready(timeoutMs = 240_000): Promise<void> {
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

  /** This run's processes whose command line contains `text`. */
  async processesRunning(text: string): Promise<number[]> {
    const pids = await this.processes();
    const commandLines = await Promise.all(pids.map((pid) => fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')));
    return pids.filter((_, index) => commandLines[index]!.includes(text));
  }

  /** Whatever a failed test left running: a graceful stop first, then SIGKILL to what remains. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.signalNpm('SIGTERM');
      await this.exit(30_000).catch(() => undefined);
    }
    for (const pid of await this.processes()) process.kill(pid, 'SIGKILL');
  }
}

const run = promisify(execFile);

/** Plays a master playlist URL as a viewer's player would, with no Authorization header: ffmpeg reads every rung's playlist and segments. */
async function play(url: string): Promise<number> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', url, '-map', '0:v:0', '-f', 'framemd5', '-'], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.split('\n').filter((line) => /^\d+,/.test(line)).length;
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

  /** A data directory like a fresh checkout's .data, in a folder the stack's Postgres (run as nobody under root) can enter. */
  async function newDataDir(): Promise<string> {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'npm-start-'));
    await fs.chmod(dataDir, 0o755);
    dataDirs.push(dataDir);
    return dataDir;
  }

  /** A database of its own on the test stack's Postgres, dropped afterwards. */
  function newDatabaseUrl(): string {
    const databaseUrl = withDatabaseName(TEST_DATABASE_URL, `vp_npm_start_${randomUUID().slice(0, 8)}`);
    databases.push(databaseUrl);
    return databaseUrl;
  }

  function npmStart(dataDir: string, basePort: number, options: NpmStartOptions = {}): NpmStart {
    const run = new NpmStart(dataDir, basePort + 10 * TEST_STACK_SLOT, options);
    started.push(run);
    return run;
  }

  async function startPipeline(basePort: number, options: NpmStartOptions = { databaseUrl: newDatabaseUrl() }, dataDir?: string): Promise<NpmStart> {
    const run = npmStart(dataDir ?? (await newDataDir()), basePort, options);
    await run.ready();
    return run;
  }

  async function expectAllStopped(run: NpmStart, serverPids: number[]): Promise<void> {
    expect(run.logged('pipeline: stopped')).toHaveLength(1);
    // The service's own stop line; its parts (a component=…) may log theirs too.
    for (const service of SERVICE_NAMES) expect(run.logged(`[${service}] stopped`).filter((line) => !line.includes(' component='))).toHaveLength(1);
    // No service crashed (the supervisor would have restarted it) or failed to stop cleanly (it would exit 1).
    expect([...run.logged(' exited ('), ...run.logged('could not stop cleanly')]).toEqual([]);
    expect(serverPids.filter(isAlive)).toEqual([]);
    expect(await run.processes()).toEqual([]);
    expect(await isServed(`${run.apiUrl}/healthz`)).toBe(false);
  }

  async function uploadReachingEveryGroup(run: NpmStart, title: string): Promise<string> {
    // A stack started again on the same data has committed earlier uploads: count from here.
    const before = await Promise.all(consumerGroups.map((group) => committedOnUploads(run, group)));
    const upload = await uploadFile(run.apiUrl, 'start-key', { file: { path: await makeVideo({ seconds: 1 }) }, fields: { title } });
    expect(upload.status).toBe(201);
    const videoId = upload.body.id as string;
    // A group has handled the upload once it committed one more event than before it.
    const pending = async () => {
      const committed = await Promise.all(consumerGroups.map((group) => committedOnUploads(run, group)));
      return consumerGroups.filter((_, index) => committed[index]! < before[index]! + 1);
    };
    await eventually(async () => (await pending()).length === 0, 60_000, 'every group to handle the upload').catch(async (error: Error) => {
      throw new Error(`${error.message}; not handled by ${(await pending()).join(', ')}:\n${run.output.slice(-30).join('\n')}`);
    });
    // Every line about an event carries its id and the video's.
    const transcoderLine = run.output.find((line) => line.includes('[transcoder] video uploaded') && line.includes(videoId));
    expect(transcoderLine).toMatch(new RegExp(`eventId=[0-9a-f-]{36} .*videoId=${videoId}`));
    return videoId;
  }

  /** How many `video.uploaded` events a group has committed, over all partitions. */
  async function committedOnUploads(run: NpmStart, group: string): Promise<number> {
    const admin = new Kafka({ clientId: 'npm-start-test', brokers: [`127.0.0.1:${run.basePort + 1}`], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: group, topics: ['video.uploaded'] });
      return (topic?.partitions ?? []).reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  }

  /** The video once it is `ready` (transcoded, thumbnailed, approved), as its owner reads it. */
  async function readyVideo(run: NpmStart, videoId: string) {
    const read = async () => (await getJson(run.apiUrl, `/v1/videos/${videoId}`, 'start-key')).body;
    await eventually(async () => (await read()).status === 'ready', 60_000, `video ${videoId} to be ready`).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await read())}`);
    });
    return read();
  }

  async function videoIds(run: NpmStart): Promise<string[]> {
    const list = await getJson(run.apiUrl, '/v1/videos?limit=100', 'start-key');
    expect(list.status).toBe(200);
    return (list.body.items as { id: string }[]).map((video) => video.id);
  }

  it('carries an upload to every group on the pinned Node, and SIGTERM to npm stops everything', async () => {
    const run = await startPipeline(19_800);
    const pids = await run.serverPids();
    expect(pids.filter(isAlive)).toHaveLength(2);
    // npm, the CLI, Kafka, s3proxy, the upload API, the relay and five workers
    expect((await run.processes()).length).toBeGreaterThanOrEqual(11);

    const videoId = await uploadReachingEveryGroup(run, 'quick start');
    // The media groups do their real work: a ladder and pictures.
    await eventually(
      async () => {
        const { stages } = (await getJson(run.apiUrl, `/v1/videos/${videoId}`, 'start-key')).body as { stages: Record<string, { status: string }> };
        return stages.transcode?.status === 'succeeded' && stages.thumbnails?.status === 'succeeded';
      },
      90_000,
      'the transcoder and the thumbnailer to finish the video',
    );
    const video = await readyVideo(run, videoId);
    expect(video.stages).toMatchObject({ transcode: { status: 'succeeded', progress: 100 }, thumbnails: { status: 'succeeded', progress: 100 }, moderation: { status: 'approved' } });
    expect(video.moderation).toMatchObject({ decision: 'approved', decidedBy: 'policy' });
    // What a viewer gets: the master playlist plays through its URL, every frame of the 1 s clip (25 fps), with no key.
    expect(video.playback.masterPlaylistUrl).toMatch(new RegExp(`^${run.apiUrl}/v1/play/[^/]+/master\\.m3u8$`));
    expect(await play(video.playback.masterPlaylistUrl)).toBe(25);

    // With keys of the user's own (API_KEYS), the banner prints none and says which to sign in with.
    expect(run.logged(`  Web app      ${run.apiUrl}/   (sign in with one of your API_KEYS)`)).toHaveLength(1);
    expect(run.logged('  API keys     from API_KEYS')).toHaveLength(1);

    // The banner names where the analytics worker serves the pipeline's numbers: its own /metrics, and they count the video.
    const analyticsUrl = /^ {2}Analytics {4}(http:\/\/127\.0\.0\.1:\d+)\/metrics /.exec(run.logged('  Analytics    ')[0] ?? '')?.[1];
    expect(analyticsUrl).toBe(run.metricsUrl('analytics'));
    await eventually(
      async () => /^pipeline_analytics_video_outcomes\{outcome="ready"\} 1$/m.test(await (await fetch(`${analyticsUrl}/metrics`)).text()),
      20_000,
      'the analytics gauges to count the ready video',
    );
    expect(video.renditions.map((rendition: { name: string; width: number; height: number }) => [rendition.name, rendition.width, rendition.height])).toEqual([['240p', 320, 240]]);
    expect(video.hls.masterPlaylistKey).toBe(`videos/${videoId}/hls/master.m3u8`);
    expect(video.thumbnails.placeholder).toEqual(expect.any(String));

    // Each worker counts the event it processed, once its effects are committed, on its own /metrics.
    for (const group of consumerGroups) {
      await eventually(
        async () => (await fetch(`${run.metricsUrl(group)}/metrics`).then((response) => response.text())).includes(`pipeline_events_processed_total{group="${group}",type="video.uploaded"} 1`),
        20_000,
        `${group}'s metrics to count the event`,
      );
      expect((await fetch(`${run.metricsUrl(group)}/readyz`)).status).toBe(200);
    }

    // The CLI and every service run on the Node the tests run on: the pinned one (.node-version), whatever Node npm found on PATH.
    const pinnedMajor = (await fs.readFile(path.join(REPO_ROOT, '.node-version'), 'utf8')).trim().split('.')[0];
    expect(process.versions.node.split('.')[0]).toBe(pinnedMajor);
    const ours = [...(await run.processesRunning(path.join('infra', 'cli.ts'))), ...(await run.processesRunning(path.join(REPO_ROOT, 'services')))];
    expect(ours).toHaveLength(1 + SERVICE_NAMES.length);
    for (const pid of ours) expect({ pid, node: realpathSync(`/proc/${pid}/exe`) }).toEqual({ pid, node: realpathSync(process.execPath) });
    // ... and say so: a worker's metrics carry the version of the Node it runs on.
    const metrics = await (await fetch(`${run.metricsUrl('transcoder')}/metrics`)).text();
    expect(/nodejs_version_info\{version="(v[\d.]+)"/.exec(metrics)?.[1]).toBe(process.version);

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

  it('runs a Postgres of its own without DATABASE_URL: two checkouts started one after the other each see only their own videos', async () => {
    const first = await startPipeline(19_900, {});
    expect(first.logged(`Postgres     postgresql://postgres@127.0.0.1:${first.basePort + 4}/video_pipeline   (the stack's own`)).toHaveLength(1);
    // Every service was pointed at it, not at a Postgres on 5432.
    for (const pid of await first.processesRunning(path.join(REPO_ROOT, 'services'))) {
      const environ = (await fs.readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      expect(environ.filter((entry) => entry.startsWith('DATABASE_URL='))).toEqual([`DATABASE_URL=postgresql://postgres@127.0.0.1:${first.basePort + 4}/video_pipeline`]);
    }
    const firstVideo = await uploadReachingEveryGroup(first, 'first checkout');
    expect(await videoIds(first)).toEqual([firstVideo]);
    const firstServers = await first.serverPids();
    expect(firstServers.filter(isAlive)).toHaveLength(3);
    first.signalNpm('SIGTERM');
    await first.exit();
    await expectAllStopped(first, firstServers);

    // Another checkout: the same ports, its own data directory.
    const second = await startPipeline(19_900, {});
    expect(await videoIds(second)).toEqual([]);
    const secondVideo = await uploadReachingEveryGroup(second, 'second checkout');
    expect(await videoIds(second)).toEqual([secondVideo]);
    const secondServers = await second.serverPids();
    second.signalNpm('SIGTERM');
    await second.exit();
    await expectAllStopped(second, secondServers);
  });

  it('after a kill -9 of npm start, the next one stops what it left, runs one set of services, and uploads go through', async () => {
    const first = await startPipeline(19_950, {});
    const kept = await uploadReachingEveryGroup(first, 'before the kill');
    const { masterPlaylistUrl } = (await readyVideo(first, kept)).playback;
    const leftServices = await first.processesRunning(path.join(REPO_ROOT, 'services'));
    const leftServers = await first.serverPids();
    expect(leftServices).toHaveLength(SERVICE_NAMES.length);

    first.signalGroup('SIGKILL'); // npm and the CLI: a crashed terminal, an OOM kill
    await first.exit();
    // What it started runs on in process groups of its own, with nobody to stop it.
    expect([...leftServices, ...leftServers].filter(isAlive)).toHaveLength(leftServices.length + 3);

    const second = await startPipeline(19_950, {}, first.dataDir);
    expect(second.logged('left running by an npm start that is gone')).toHaveLength(SERVICE_NAMES.length);
    expect(second.logged('left running by a process that is gone')).toHaveLength(3);
    expect([...leftServices, ...leftServers].filter(isAlive)).toEqual([]);
    expect(second.logged('EADDRINUSE')).toEqual([]);
    expect(second.logged(' exited (')).toEqual([]); // no service crashed and was restarted
    expect(await second.processesRunning(path.join(REPO_ROOT, 'services'))).toHaveLength(SERVICE_NAMES.length);
    expect(await second.processesRunning(path.join('infra', 'cli.ts'))).toHaveLength(1);
    expect(await videoIds(second)).toContain(kept);
    // A playback URL the first run's API handed out plays through the second's: npm start keeps the signing secret with the data.
    expect(second.logged('PLAYBACK_TOKEN_SECRET is unset')).toEqual([]);
    expect(await play(masterPlaylistUrl)).toBe(25);
    await uploadReachingEveryGroup(second, 'after the kill');

    // While it runs, a third start on the same data refuses and names what runs.
    const third = npmStart(first.dataDir, 19_950, {});
    expect((await third.exit()).code).not.toBe(0);
    expect(third.logged(`another npm start runs from ${first.dataDir}`)).toHaveLength(1);
    for (const pid of await second.processesRunning(path.join(REPO_ROOT, 'services'))) expect(third.logged(`pid ${pid} `)).toHaveLength(1);
    expect(third.logged('Video pipeline is running')).toEqual([]);

    const servers = await second.serverPids();
    second.signalNpm('SIGTERM');
    await second.exit();
    await expectAllStopped(second, servers);
  });

  it('fails loudly, with the log of a service that cannot start, and leaves nothing running', async () => {
    const run = npmStart(await newDataDir(), 20_000, { databaseUrl: newDatabaseUrl(), env: { NODE_OPTIONS: `--require ${FAIL_SERVICE_PRELOAD}`, FAIL_SERVICE: 'upload-api' } });
    const { code } = await run.exit(240_000);
    expect(code).not.toBe(0);
    expect(run.logged('Video pipeline is running')).toEqual([]);
    expect(run.logged('upload-api exited 3 times before it was ready')).toHaveLength(1);
    expect(run.logged('upload-api cannot start: FAIL_SERVICE names it').length).toBeGreaterThanOrEqual(1);
    expect(await run.processes()).toEqual([]);
  });

  it('refuses to start when another program holds the API port, before starting anything', async () => {
    const basePort = 20_050 + 10 * TEST_STACK_SLOT;
    const holder = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(basePort, '127.0.0.1', resolve));
    try {
      const run = npmStart(await newDataDir(), 20_050, { databaseUrl: newDatabaseUrl() });
      expect((await run.exit()).code).not.toBe(0);
      expect(run.logged(`the upload API (PORT) 127.0.0.1:${basePort} is in use by another program`)).toHaveLength(1);
      expect(run.logged('ready on')).toEqual([]); // no server of the stack was started
      expect(await run.processes()).toEqual([]);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
