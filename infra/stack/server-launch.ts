import { ServerStartError, type StackService } from './errors';
import { waitUntil } from './net';
import { JAVA_INSTALL_HINT } from './paths';
import { findPidFileProcess, stopProcessGroup, writePidFile } from './pid-file';
import { ManagedProcess, tailFile, type RunAs } from './process';

export interface LaunchOptions {
  service: Extract<StackService, 'kafka' | 's3proxy' | 'postgres'>;
  /** The program; default `java` (from PATH). */
  command?: string;
  /** The program's arguments (the JVM's, for java). */
  args: string[];
  env?: NodeJS.ProcessEnv;
  user?: RunAs;
  /** What asks the server to stop gracefully; default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  cwd: string;
  /** The server's stdout/stderr. */
  logFile: string;
  pidFile: string;
  /** Where it serves, for messages. */
  address: string;
  /** Resolves (to anything but undefined) once the server answers as a client would use it. */
  probe: () => Promise<unknown>;
  probeIntervalMs: number;
  startTimeoutMs: number;
  /** The server's own log lines worth showing when it fails to start. */
  logTail: () => string;
  onProgress: (message: string) => void;
}

/**
 * Starts a server (a JVM unless told otherwise), records its pid, and waits until it answers. If it
 * exits or stays silent past the timeout, it is killed and the error carries
 * the tail of its logs, so the reason is on screen, not in a file.
 */
export async function launchServer(options: LaunchOptions): Promise<ManagedProcess> {
  const startedAt = Date.now();
  const command = options.command ?? 'java';
  const server = await ManagedProcess.spawn({
    name: options.service,
    command,
    args: options.args,
    env: options.env,
    user: options.user,
    stopSignal: options.stopSignal,
    logFile: options.logFile,
    cwd: options.cwd,
    installHint: command === 'java' ? JAVA_INSTALL_HINT : undefined,
  });
  writePidFile(options.pidFile, server.pid);

  const outcome = await waitUntil(() => options.probe().then(() => true), {
    timeoutMs: options.startTimeoutMs,
    intervalMs: options.probeIntervalMs,
    abortReason: () => {
      const exit = server.exitStatusIfExited;
      return exit && `exited during startup (code ${exit.code}, signal ${exit.signal})`;
    },
  });
  if (!outcome.ok) {
    await server.kill();
    throw outcome.reason === 'timeout'
      ? new ServerStartError('STACK_START_TIMEOUT', options.service, `${options.address} not ready after ${options.startTimeoutMs} ms (last probe: ${outcome.detail}); logs in ${options.cwd}`, options.logTail())
      : new ServerStartError('STACK_PROCESS_EXITED', options.service, `${outcome.detail}; logs in ${options.cwd}`, options.logTail());
  }
  options.onProgress(`${options.service} ready on ${options.address} in ${((Date.now() - startedAt) / 1000).toFixed(1)}s (pid ${server.pid})`);
  return server;
}

/**
 * Stops a server whose pid file names an owner process that is gone (one
 * SIGKILLed before it could stop its children). A server whose owner is
 * alive is left alone: the port check reports it.
 */
export async function stopOrphanedServer(
  service: string,
  pidFile: string,
  commandLineMarker: string,
  stopTimeoutMs: number,
  onProgress: (message: string) => void,
  stopSignal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const previous = findPidFileProcess(pidFile, commandLineMarker);
  if (!previous?.orphaned) return;
  onProgress(`stopping ${service} pid ${previous.pid} left running by a process that is gone (pid ${previous.ownerPid})`);
  await stopProcessGroup(previous.pid, stopTimeoutMs, stopSignal);
}
