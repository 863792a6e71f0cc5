import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventually } from '../../../../test/support/pipeline';
import { fastMembership } from './policies';

const SLOW_WORKER = path.resolve(__dirname, '../fixtures/slow-worker.ts');

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Epoch ms. */
  at: number;
}

export interface SlowWorker {
  readonly pid: number;
  /** Tags its effects with this (see `appliedEffects`). */
  readonly appliedBy: string;
  readonly exited: Promise<WorkerExit>;
  /** Whether its handler has started on the event. */
  started(eventId: string): Promise<boolean>;
  kill(signal: NodeJS.Signals): void;
  /** Its stdout and stderr so far, for failure messages. */
  output(): string;
}

export interface SlowWorkerOptions {
  handlerMs: number;
  shutdownGraceMs: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

/**
 * Runs `fixtures/slow-worker.ts` as a separate process, in the test's topic
 * prefix; every worker still running after each test is killed. Call at the
 * top of a `describe`. TEST_WORKER_LOG_LEVEL=info shows its logs in `output()`.
 */
export function useSlowWorkers(): (prefix: string, options: SlowWorkerOptions) => Promise<SlowWorker> {
  const running = new Set<ChildProcess>();
  const markerDirs: string[] = [];
  afterEach(async () => {
    await Promise.all(
      [...running].map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await gone;
        }
      }),
    );
    running.clear();
    await Promise.all(markerDirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  return async (prefix, options) => {
    const markers = await fs.mkdtemp(path.join(os.tmpdir(), 'slow-worker-'));
    markerDirs.push(markers);
    const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, SLOW_WORKER], {
      env: {
        ...process.env,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_CLIENT_ID: 'slow-worker',
        LOG_LEVEL: process.env.TEST_WORKER_LOG_LEVEL ?? 'warn',
        SLOW_WORKER_MARKERS: markers,
        SLOW_WORKER_HANDLER_MS: String(options.handlerMs),
        SLOW_WORKER_GRACE_MS: String(options.shutdownGraceMs),
        SLOW_WORKER_SESSION_MS: String(options.sessionTimeoutMs ?? fastMembership.sessionTimeoutMs),
        SLOW_WORKER_HEARTBEAT_MS: String(options.heartbeatIntervalMs ?? fastMembership.heartbeatIntervalMs),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<WorkerExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    return {
      pid: child.pid!,
      appliedBy: `worker-${child.pid}`,
      exited,
      started: (eventId) =>
        fs.access(path.join(markers, `${eventId}.started`)).then(
          () => true,
          () => false,
        ),
      kill: (signal) => child.kill(signal),
      output: () => output,
    };
  };
}

/** Waits for the worker's handler to start on the event; fails with the worker's output if it exits first. */
export async function handlerStarted(worker: SlowWorker, eventId: string): Promise<void> {
  const exitedEarly = worker.exited.then((exit) => {
    throw new Error(`worker exited (${JSON.stringify(exit)}) before its handler started:\n${worker.output()}`);
  });
  await Promise.race([eventually(() => worker.started(eventId), 30_000, "the worker's handler to start"), exitedEarly]);
}
