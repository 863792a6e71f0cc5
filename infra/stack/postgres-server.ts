import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { PortInUseError, ServerStartError } from './errors';
import { printProgress } from './jars';
import { LocalServer } from './local-server';
import { isPortOpen } from './net';
import { findPidFileProcess } from './pid-file';
import { assertReachable, postgresUser, resolvePostgresBinaries, type PostgresBinaries } from './postgres-binaries';
import { removeAbandonedPartials, runTool, tailFile, type RunAs } from './process';
import { launchServer, stopOrphanedServer } from './server-launch';

export interface PostgresOptions {
  /** Everything of this server lives here, the cluster in pgdata/; kept across restarts. */
  dataDir: string;
  host?: string;
  port?: number;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

/** The cluster's superuser; trusted on its loopback listener, like a fresh Debian cluster's local socket. */
const SUPERUSER = 'postgres';
/** Postgres stops fast on SIGINT (ends sessions, checkpoints); SIGTERM would wait for every client to disconnect. */
const STOP_SIGNAL = 'SIGINT';

/**
 * A PostgreSQL server of the stack's own, from the binaries npm ships
 * (postgres-binaries.ts): a cluster made by initdb on first start, listening
 * on loopback only, with its data under `dataDir`.
 */
export class PostgresServer extends LocalServer {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  private readonly startTimeoutMs: number;
  private readonly onProgress: (message: string) => void;

  constructor(options: PostgresOptions) {
    super(options.stopTimeoutMs ?? 30_000);
    this.dataDir = path.resolve(options.dataDir);
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 9432;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.onProgress = options.onProgress ?? printProgress;
  }

  /** A URL of a database on this server (it need not exist yet: migrations create it). */
  databaseUrl(database: string): string {
    return `postgresql://${SUPERUSER}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  /** The cluster (PG_VERSION, postgresql.conf, base/ ...). */
  get clusterDir(): string {
    return path.join(this.dataDir, 'pgdata');
  }

  /** The server's stdout and stderr, its log. */
  get processLogFile(): string {
    return path.join(this.dataDir, 'postgres.out.log');
  }

  private get pidFile(): string {
    return path.join(this.dataDir, 'postgres.pid');
  }

  /** Makes the cluster on first start, starts the server, and resolves once it answers a query. */
  async start(): Promise<void> {
    if (this.running) return;
    const binaries = resolvePostgresBinaries();
    const user = postgresUser();
    // A Postgres killed with its owner (kill -9 of npm start): stop it before checking the port.
    await stopOrphanedServer('postgres', this.pidFile, this.clusterDir, this.stopTimeoutMs, this.onProgress, STOP_SIGNAL);
    await this.assertPortFree();
    fs.mkdirSync(this.dataDir, { recursive: true });
    if (user) {
      assertReachable(binaries.postgres, user, 'its binaries');
      assertReachable(this.clusterDir, user, 'its data');
    }
    await this.initClusterOnce(binaries, user);

    this.process = await launchServer({
      service: 'postgres',
      command: binaries.postgres,
      // -k '': no Unix socket; everything connects over TCP on loopback.
      args: ['-D', this.clusterDir, '-h', this.host, '-p', String(this.port), '-k', ''],
      env: binaries.env,
      user,
      stopSignal: STOP_SIGNAL,
      cwd: this.dataDir,
      logFile: this.processLogFile,
      pidFile: this.pidFile,
      address: `${this.host}:${this.port}`,
      probe: () => this.query('SELECT 1', 1_500),
      probeIntervalMs: 100,
      startTimeoutMs: this.startTimeoutMs,
      logTail: () => tailFile(this.processLogFile, 30),
      onProgress: this.onProgress,
    });
  }

  private async query(sql: string, timeoutMs: number): Promise<unknown> {
    const client = new Client({ connectionString: this.databaseUrl('postgres'), connectionTimeoutMillis: timeoutMs });
    client.on('error', () => undefined); // a refused or dropped connection fails the query below
    try {
      await client.connect();
      return (await client.query(sql)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async assertPortFree(): Promise<void> {
    if (!(await isPortOpen(this.host, this.port))) return;
    const isPostgres = await this.query('SELECT 1', 3_000).then(
      () => true,
      () => false,
    );
    throw new PortInUseError({
      service: 'postgres',
      host: this.host,
      port: this.port,
      occupant: isPostgres ? 'postgres' : 'unknown',
      pid: findPidFileProcess(this.pidFile, this.clusterDir)?.pid,
      hint: isPostgres
        ? 'a Postgres server already runs there, e.g. the stack of another checkout or terminal. Stop it, choose another port (STACK_POSTGRES_PORT), or use it through DATABASE_URL.'
        : 'another program listens there. Stop it or choose another port (STACK_POSTGRES_PORT).',
    });
  }

  /**
   * initdb into a folder of its own, renamed into place once complete, so an
   * interrupted first start never leaves a half-made cluster behind.
   */
  private async initClusterOnce(binaries: PostgresBinaries, user: RunAs | undefined): Promise<void> {
    if (fs.existsSync(path.join(this.clusterDir, 'PG_VERSION'))) return;
    removeAbandonedPartials(this.clusterDir);
    const work = `${this.clusterDir}.partial-${process.pid}`;
    fs.mkdirSync(work, { mode: 0o700 });
    if (user) fs.chownSync(work, user.uid, user.gid);
    const startedAt = Date.now();
    try {
      const result = await runTool(
        binaries.initdb,
        ['-D', work, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-instructions'],
        { cwd: this.dataDir, env: binaries.env, user, timeoutMs: 120_000 },
      );
      if (result.code !== 0) {
        throw new ServerStartError('STACK_STORAGE_FORMAT_FAILED', 'postgres', `initdb of ${this.clusterDir} failed (exit ${result.code})`, result.output.trim().split('\n').slice(-20).join('\n'));
      }
      fs.renameSync(work, this.clusterDir);
      this.onProgress(`postgres: made a new cluster in ${this.clusterDir} in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}
