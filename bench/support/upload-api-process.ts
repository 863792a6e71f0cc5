import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serviceNodeArgs } from '../../infra/pipeline/service-command';
import { REPO_ROOT } from '../../infra/stack/paths';
import { tailFile } from '../../infra/stack/process';
import type { BenchEnv } from './environment';

export const BENCH_API_KEY = 'bench-key';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** Children of this process that must not outlive it, even when it crashes. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

export interface UploadApiProcess {
  pid: number;
  baseUrl: string;
  logFile: string;
  /** SIGTERM (the API finishes in-flight uploads), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * The upload API as its own Node process (`node --import tsx
 * services/upload-api/src/main.ts`), so its memory and CPU are its own and
 * can be read from /proc. Resolves once /healthz answers. `root` runs
 * another checkout's API (see api-checkout.ts); this repository's by default.
 */
export async function spawnUploadApi(env: BenchEnv, options: { name: string; bucket: string; maxUploadBytes: number; root?: string; extraEnv?: Record<string, string> }): Promise<UploadApiProcess> {
  const port = await freePort();
  const logFile = path.join(env.logDir, `upload-api-${options.name}.log`);
  const log = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, serviceNodeArgs('upload-api', options.root), {
    cwd: options.root ?? REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: env.databaseUrl,
      KAFKA_BROKERS: env.stack.env.KAFKA_BROKERS,
      S3_ENDPOINT: env.stack.env.S3_ENDPOINT,
      S3_REGION: env.stack.env.S3_REGION,
      S3_ACCESS_KEY_ID: 'pipeline',
      S3_SECRET_ACCESS_KEY: 'pipeline-secret',
      S3_BUCKET: options.bucket,
      API_KEYS: `${BENCH_API_KEY}:bench`,
      HOST: '127.0.0.1',
      PORT: String(port),
      MAX_UPLOAD_BYTES: String(options.maxUploadBytes),
      LOG_LEVEL: 'warn',
      ...options.extraEnv,
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  track(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the upload API exited during start-up (code ${child.exitCode}, signal ${child.signalCode}); log ${logFile}:\n${tailFile(logFile, 20)}`);
    }
    const healthy = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the upload API did not answer /healthz within ${START_TIMEOUT_MS} ms; log ${logFile}:\n${tailFile(logFile, 20)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { pid: child.pid!, baseUrl, logFile, stop };
}

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const each of liveChildren) each.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
