import fs from 'node:fs';
import path from 'node:path';
import { findPidFileProcess, stopProcessGroup, writePidFile, type PidFileProcess } from '../stack/pid-file';
import { SERVICES_DIR } from './supervisor';

/**
 * What one `npm start` leaves in its data directory so that the next one can
 * find every process it started, even after a kill -9 (its services and
 * servers run in process groups of their own, out of reach of a signal to
 * it): `npm-start.pid` names the CLI, `services/<name>.pid` each service,
 * and the servers keep theirs beside their data (kafka/broker.pid,
 * s3/s3proxy.pid, postgres/postgres.pid).
 */
export interface RunFiles {
  lockFile: string;
  servicePidDir: string;
}

export function runFiles(dataDir: string): RunFiles {
  return { lockFile: path.join(dataDir, 'npm-start.pid'), servicePidDir: path.join(dataDir, 'services') };
}

/** The CLI's own command line, to tell its pid file from a recycled pid. */
const CLI_MARKER = path.join('infra', 'cli.ts');
const SERVER_PID_FILES: Record<string, { file: string; marker: (dataDir: string) => string }> = {
  kafka: { file: 'kafka/broker.pid', marker: (dataDir) => path.join(dataDir, 'kafka', 'server.properties') },
  s3proxy: { file: 's3/s3proxy.pid', marker: (dataDir) => path.join(dataDir, 's3', 's3proxy.properties') },
  postgres: { file: 'postgres/postgres.pid', marker: (dataDir) => path.join(dataDir, 'postgres', 'pgdata') },
};
/** Orphaned services get this long to stop after SIGTERM; their work is redelivered if cut short. */
const ORPHAN_STOP_TIMEOUT_MS = 15_000;

export class StackInUseError extends Error {
  readonly code = 'stack_in_use';
}

/**
 * Makes this process the data directory's one `npm start`: refuses, naming
 * the processes, while another one runs from it; otherwise stops the
 * services an earlier, killed one left behind (before the stack they use:
 * its servers are stopped by the stack's own start) and records this one.
 */
export async function claimDataDir(dataDir: string, log: (message: string) => void): Promise<void> {
  const files = runFiles(dataDir);
  const previous = findPidFileProcess(files.lockFile, CLI_MARKER);
  const services = servicesOf(files.servicePidDir);
  const owned = services.filter((service) => !service.process.orphaned);
  if (previous || owned.length > 0) {
    const lines = [
      ...(previous ? [`  pid ${previous.pid}  npm start`] : []),
      ...services.map(({ name, process }) => `  pid ${process.pid}  ${name}`),
      ...serversOf(dataDir).map(({ name, process }) => `  pid ${process.pid}  ${name}`),
    ];
    throw new StackInUseError(
      `another npm start runs from ${dataDir}:\n${lines.join('\n')}\n` +
        'Stop it first (Ctrl-C in its terminal, or kill the npm start pid), or give this one a STACK_DATA_DIR and ports of its own.',
    );
  }
  await Promise.all(
    services.map(async ({ name, process }) => {
      log(`stopping ${name} (pid ${process.pid}), left running by an npm start that is gone (pid ${process.ownerPid})`);
      await stopProcessGroup(process.pid, ORPHAN_STOP_TIMEOUT_MS);
    }),
  );
  fs.mkdirSync(dataDir, { recursive: true });
  writePidFile(files.lockFile, process.pid);
}

/** Forgets this run's record, once everything it started has stopped. */
export function releaseDataDir(dataDir: string): void {
  const { lockFile } = runFiles(dataDir);
  if (findPidFileProcess(lockFile, CLI_MARKER)?.pid === process.pid) fs.rmSync(lockFile, { force: true });
}

interface Found {
  name: string;
  process: PidFileProcess;
}

function servicesOf(pidDir: string): Found[] {
  if (!fs.existsSync(pidDir)) return [];
  return fs
    .readdirSync(pidDir)
    .filter((file) => file.endsWith('.pid'))
    .flatMap((file) => {
      const found = findPidFileProcess(path.join(pidDir, file), SERVICES_DIR);
      return found ? [{ name: file.slice(0, -'.pid'.length), process: found }] : [];
    });
}

function serversOf(dataDir: string): Found[] {
  return Object.entries(SERVER_PID_FILES).flatMap(([name, { file, marker }]) => {
    const found = findPidFileProcess(path.join(dataDir, file), marker(dataDir));
    return found ? [{ name, process: found }] : [];
  });
}
