import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { backoffDelayMs, type BackoffPolicy } from '@video-pipeline/retry';
import { REPO_ROOT } from '../stack/paths';
import { writePidFile } from '../stack/pid-file';
import { serviceNodeArgs } from './service-command';

export interface ServiceSpec {
  /** Display name, e.g. `transcoder#2`. */
  name: string;
  /** Folder under services/. */
  service: string;
  env: NodeJS.ProcessEnv;
}

/** Restarts of a crashing service back off up to 15 s; it never gives up while the pipeline runs. */
const restartBackoff: BackoffPolicy = { initialMs: 1_000, maxMs: 15_000, multiplier: 2, jitter: 0 };
/** A service gets this long after SIGTERM (its own grace period is shorter) before SIGKILL. */
const STOP_TIMEOUT_MS = 40_000;
/** Lines of each service's output kept for error reports. */
const LOG_TAIL_LINES = 30;

/** What every service's command line contains, so that a pid file's process can be told from a recycled pid. */
export const SERVICES_DIR = path.join(REPO_ROOT, 'services');

export interface SupervisorOptions {
  /**
   * Where each service's pid file goes (`<name>.pid`, naming this process as
   * its owner), so that a later run finds services a killed supervisor left
   * behind (see leftovers.ts). None when omitted.
   */
  pidDir?: string;
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess;
  exited: Promise<void>;
  restarts: number;
  startedAt: number;
}

/**
 * Runs each service as its own Node process (TypeScript through tsx), shows
 * their logs in one terminal, restarts any that crash, and on `stop()` sends
 * SIGTERM to all, waits for them to drain, and kills stragglers.
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  /** How each service last exited, by name. */
  readonly exits = new Map<string, { code: number | null; signal: NodeJS.Signals | null }>();
  /** How often each service exited on its own (not stopped by us), by name. */
  readonly crashes = new Map<string, number>();
  private readonly logTails = new Map<string, string[]>();
  private stopping = false;

  /** `onOutput` receives every line a service prints (its JSON logs), and the supervisor's own notes as `supervisor`. */
  constructor(
    private readonly onOutput: (name: string, line: string) => void,
    private readonly options: SupervisorOptions = {},
  ) {}

  /** The last lines a service printed, oldest first. */
  logTail(name: string): string[] {
    return this.logTails.get(name) ?? [];
  }

  /** The pid of a service's current process, if it runs. */
  pid(name: string): number | undefined {
    return this.running.get(name)?.child.pid;
  }

  private note(line: string): void {
    this.onOutput('supervisor', line);
  }

  start(spec: ServiceSpec, restarts = 0): void {
    const child = spawn(process.execPath, serviceNodeArgs(spec.service), {
      cwd: REPO_ROOT,
      env: spec.env,
      // Own process group: a terminal Ctrl-C reaches only us, and we stop services in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pidFile = this.options.pidDir && path.join(this.options.pidDir, `${spec.name}.pid`);
    if (pidFile && child.pid !== undefined) {
      fs.mkdirSync(this.options.pidDir!, { recursive: true });
      writePidFile(pidFile, child.pid);
    }
    const tail = this.logTails.get(spec.name) ?? [];
    this.logTails.set(spec.name, tail);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > LOG_TAIL_LINES) tail.shift();
        this.onOutput(spec.name, line);
      });
    }
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.running.delete(spec.name);
        this.exits.set(spec.name, { code, signal });
        if (pidFile) fs.rmSync(pidFile, { force: true });
        resolve();
        if (this.stopping) return;
        this.crashes.set(spec.name, (this.crashes.get(spec.name) ?? 0) + 1);
        const delay = backoffDelayMs(restartBackoff, restarts + 1);
        // A service that ran a while before crashing starts its back-off afresh.
        const nextRestarts = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
        this.note(`${spec.name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000}s`);
        setTimeout(() => {
          if (!this.stopping) this.start(spec, nextRestarts);
        }, delay);
      });
    });
    const startedAt = Date.now();
    this.running.set(spec.name, { spec, child, exited, restarts, startedAt });
  }

  /** SIGTERM to every service, then SIGKILL to any still running after the timeout. */
  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.running.values()];
    for (const { child } of all) signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => {
      for (const { child, spec } of this.running.values()) {
        this.note(`${spec.name} did not stop within ${STOP_TIMEOUT_MS / 1000}s; killing it`);
        signalGroup(child, 'SIGKILL');
      }
    }, STOP_TIMEOUT_MS);
    await Promise.all(all.map((service) => service.exited));
    clearTimeout(timer);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone: nothing left to signal.
  }
}
