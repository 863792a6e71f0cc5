import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { MissingToolError } from './errors';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnLoggedOptions {
  /** Short name for messages, e.g. 'kafka'. */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended here; never the console. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user instead of ours (Postgres refuses to run as root). */
  user?: RunAs;
  /** What asks it to stop gracefully; SIGTERM unless the server reads another (Postgres: SIGINT). */
  stopSignal?: NodeJS.Signals;
  /** Shown when `command` is not on PATH. */
  installHint?: string;
}

/** A user and group id a child process runs as. */
export interface RunAs {
  uid: number;
  gid: number;
}

export const DEFAULT_STOP_TIMEOUT_MS = 20_000;

/** Long-running children of this Node process, killed when it exits. */
const liveServers = new Set<ManagedProcess>();
/** Short-lived tool runs (mvn, StorageTool), killed too if we exit mid-run. */
const liveToolPids = new Set<number>();

/**
 * A server process we started and must not leave behind.
 *
 * Servers are spawned with `detached: true`, i.e. as leaders of their own
 * process group. A Ctrl-C in the terminal signals only the foreground group,
 * so the JVMs do not start dying at the same moment as the Node code that is
 * still using them (consumers committing offsets, uploads finishing). Node
 * gets the signal alone and shuts them down in order; see
 * installSignalHandlers. The price of detaching is that a SIGKILLed parent
 * cannot take its children along, which is what the pid files are for: the
 * next start finds such orphans and stops them (see pid-file.ts).
 */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process has exited, however that happened. */
  readonly exited: Promise<ProcessExit>;
  private readonly stopSignal: NodeJS.Signals;
  private exitStatus: ProcessExit | undefined;

  private constructor(name: string, pid: number, logFile: string, exited: Promise<ProcessExit>, stopSignal: NodeJS.Signals) {
    this.name = name;
    this.pid = pid;
    this.logFile = logFile;
    this.stopSignal = stopSignal;
    this.exited = exited.then((status) => {
      this.exitStatus = status;
      liveServers.delete(this);
      return status;
    });
  }

  static async spawn(options: SpawnLoggedOptions): Promise<ManagedProcess> {
    fs.appendFileSync(options.logFile, `\n=== ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`);
    const logFd = fs.openSync(options.logFile, 'a');
    try {
      const child = spawn(options.command, options.args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        detached: true,
        stdio: ['ignore', logFd, logFd],
        ...options.user,
      });
      const exited = new Promise<ProcessExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (error: NodeJS.ErrnoException) => {
          reject(error.code === 'ENOENT' ? new MissingToolError(options.command, options.installHint ?? '') : error);
        });
      });
      if (child.pid === undefined) throw new Error(`${options.name}: spawned without a pid`);
      const managed = new ManagedProcess(options.name, child.pid, options.logFile, exited, options.stopSignal ?? 'SIGTERM');
      liveServers.add(managed);
      installExitHook();
      return managed;
    } finally {
      // The child holds its own copy of the descriptor.
      fs.closeSync(logFd);
    }
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  get exitStatusIfExited(): ProcessExit | undefined {
    return this.exitStatus;
  }

  /** Its stop signal (SIGTERM), then SIGKILL if it has not exited within timeoutMs. */
  async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ProcessExit> {
    if (!this.running) return this.exited;
    signalGroup(this.pid, this.stopSignal);
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL at once, like a crash. */
  async kill(): Promise<ProcessExit> {
    if (this.running) signalGroup(this.pid, 'SIGKILL');
    return this.exited;
  }
}

/** Signals a whole process group (pid of its leader); a group already gone is fine. */
export function signalGroup(leaderPid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-leaderPid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    // ESRCH: the group has already exited, which is what we wanted.
  }
}

/**
 * Deletes `<target>.partial-<pid>` folders that a process killed mid-way
 * left (a jar fetch, an initdb): whatever is made in such a folder is renamed
 * to `target` only once complete. The caller's own are deleted too.
 */
export function removeAbandonedPartials(target: string): void {
  const parent = path.dirname(target);
  const prefix = `${path.basename(target)}.partial-`;
  if (!fs.existsSync(parent)) return;
  for (const entry of fs.readdirSync(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (pid === process.pid || !isPidAlive(pid)) fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A killed process whose parent died too waits for init to reap it, and
 * signal 0 still finds it meanwhile: it is dead all the same.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ...": comm may hold spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no /proc (not Linux), or it is gone: signal 0 said enough
  }
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr interleaved, last 64 KB at most. */
  output: string;
}

/** Runs a short-lived tool to completion, capturing its output. */
export async function runTool(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; user?: RunAs; timeoutMs: number; installHint?: string }): Promise<RunResult> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...options.user });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      child.once('spawn', () => {
        if (child.pid !== undefined) liveToolPids.add(child.pid);
        installExitHook();
      });
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'ENOENT' ? new MissingToolError(command, options.installHint ?? '') : error);
      });
      child.once('close', (code, signal) => {
        resolve({ code, output: signal ? `${output}\n[killed by ${signal}]` : output });
      });
    });
  } finally {
    clearTimeout(timer);
    if (child.pid !== undefined) liveToolPids.delete(child.pid);
  }
}

/** Last lines of a log file, for error messages; '' when it does not exist. */
export function tailFile(file: string, maxLines = 30): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 32_768);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-maxLines).join('\n');
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- shutdown

let exitHookInstalled = false;

/** On any exit of this process, SIGKILL what is still running; 'exit' handlers must be synchronous. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllNow);
}

function killAllNow(): void {
  for (const server of liveServers) signalGroup(server.pid, 'SIGKILL');
  for (const pid of liveToolPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      // ESRCH: already gone.
    }
  }
}

/** Gracefully stops every server this process started. */
export async function stopAllServers(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
  await Promise.all([...liveServers].map((server) => server.stop(timeoutMs)));
}

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let signalHandlersInstalled = false;

/**
 * On SIGINT/SIGTERM/SIGHUP: stop all servers gracefully, then die of the same
 * signal unless the program has its own handler for it (then it decides).
 * A second signal during that stop kills everything at once.
 * Programs that shut down in their own order should not call this and
 * should stop the stack themselves; the exit hook still catches leftovers.
 */
export function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      killAllNow();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    }
    stopping = true;
    const reraise = (): void => {
      for (const each of SHUTDOWN_SIGNALS) process.removeListener(each, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    stopAllServers().then(reraise, (error: unknown) => {
      process.stderr.write(`[stack] stopping servers on ${signal} failed: ${String(error)}\n`);
      killAllNow();
      reraise();
    });
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
