import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { backoffDelayMs, type BackoffPolicy } from '@video-pipeline/retry';
import { REPO_ROOT } from '../stack/paths';

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
  private stopping = false;

  /** `onOutput` receives every line a service prints (its JSON logs), and the supervisor's own notes as `supervisor`. */
  constructor(private readonly onOutput: (name: string, line: string) => void) {}

  private note(line: string): void {
    this.onOutput('supervisor', line);
  }

  start(spec: ServiceSpec, restarts = 0): void {
    const entry = path.join(REPO_ROOT, 'services', spec.service, 'src', 'main.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: REPO_ROOT,
      env: spec.env,
      // Own process group: a terminal Ctrl-C reaches only us, and we stop services in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.onOutput(spec.name, line));
    }
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.running.delete(spec.name);
        this.exits.set(spec.name, { code, signal });
        resolve();
        if (this.stopping) return;
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
