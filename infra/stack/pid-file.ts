import fs from 'node:fs';
import { DEFAULT_STOP_TIMEOUT_MS, isPidAlive, signalGroup, sleep } from './process';

/**
 * Pid files let a start find a server that an earlier, killed Node process
 * left running (servers are detached, see ManagedProcess) and stop it.
 */

interface PidFileRecord {
  pid: number;
  /** The Node process that started it. */
  ownerPid: number;
}

export function writePidFile(file: string, pid: number): void {
  const record: PidFileRecord = { pid, ownerPid: process.pid };
  fs.writeFileSync(file, `${JSON.stringify(record)}\n`);
}

export interface PidFileProcess extends PidFileRecord {
  /** The owner is gone: nobody will stop this process but us. */
  orphaned: boolean;
}

/**
 * The process a pid file names, if it still runs and its command line
 * contains `commandLineMarker` (guards against a recycled pid).
 */
export function findPidFileProcess(file: string, commandLineMarker: string): PidFileProcess | undefined {
  let record: PidFileRecord;
  try {
    record = JSON.parse(fs.readFileSync(file, 'utf8')) as PidFileRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SyntaxError) return undefined; // torn write: treat as no record
    throw error;
  }
  if (!isPidAlive(record.pid)) return undefined;
  let commandLine: string;
  try {
    commandLine = fs.readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
  } catch (error) {
    // No /proc (not Linux) or the process just exited: we cannot tell it is ours.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!commandLine.includes(commandLineMarker)) return undefined;
  return { ...record, orphaned: !isPidAlive(record.ownerPid) };
}

/** Stops a process group we do not hold a handle to (an orphan from a dead run): its stop signal, then SIGKILL after timeoutMs. */
export async function stopProcessGroup(leaderPid: number, timeoutMs = DEFAULT_STOP_TIMEOUT_MS, stopSignal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  signalGroup(leaderPid, stopSignal);
  const deadline = Date.now() + timeoutMs;
  while (isPidAlive(leaderPid)) {
    if (Date.now() > deadline) {
      signalGroup(leaderPid, 'SIGKILL');
      await sleep(200);
      return;
    }
    await sleep(100);
  }
}
