import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serviceNodeArgs } from '../../infra/pipeline/service-command';
import { REPO_ROOT } from '../../infra/stack/paths';
import { tailFile } from '../../infra/stack/process';
import type { BenchEnv } from './environment';

const START_TIMEOUT_MS = 60_000;

export interface MediaWorkerProcess {
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * A media group's worker as its service runs (`node --import tsx
 * services/<group>/src/main.ts`), on the bench stack, so its memory and CPU
 * (and its ffmpeg's) can be read from /proc. Resolves once it has joined
 * its group (/readyz).
 */
export async function spawnMediaWorker(env: BenchEnv, options: { group: 'transcoder' | 'thumbnailer' | 'moderation'; prefix: string; bucket: string; tempDir: string }): Promise<MediaWorkerProcess> {
  const metricsPort = await freePort();
  const logFile = path.join(env.logDir, `${options.group}.log`);
  const log = fs.openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, serviceNodeArgs(options.group), {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DATABASE_URL: env.databaseUrl,
      KAFKA_BROKERS: env.stack.env.KAFKA_BROKERS,
      KAFKA_TOPIC_PREFIX: options.prefix,
      S3_ENDPOINT: env.stack.env.S3_ENDPOINT,
      S3_REGION: env.stack.env.S3_REGION,
      S3_BUCKET: options.bucket,
      MEDIA_TEMP_DIR: options.tempDir,
      METRICS_PORT: String(metricsPort),
      IDEMPOTENCY_PRUNE_HOURS: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${options.group} exited during start-up; log ${logFile}:\n${tailFile(logFile, 20)}`);
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the ${options.group} did not join its group within ${START_TIMEOUT_MS} ms; log ${logFile}:\n${tailFile(logFile, 20)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { pid: child.pid!, logFile, stop };
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
