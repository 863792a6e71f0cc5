import { formatLogLine } from './log-format';
import type { Supervisor } from './supervisor';

export interface ReadinessTarget {
  /** The service's name in the supervisor. */
  name: string;
  /** Its readiness check: ready when this answers 200. */
  url: string;
}

export interface WaitForServicesOptions {
  /** How long every service together may take to become ready. */
  timeoutMs: number;
  /** A service that exits this often before it is ready is not going to be. */
  maxCrashes: number;
  intervalMs?: number;
}

/** Some service did not come up; the message names each with the tail of its log. */
export class ServicesNotReadyError extends Error {
  readonly code = 'services_not_ready';
}

/**
 * Resolves once every service answers its readiness check. Rejects as soon
 * as one has crashed `maxCrashes` times, or when the time is up, with what
 * each service that is not ready last said.
 */
export async function waitForServices(supervisor: Supervisor, targets: ReadinessTarget[], options: WaitForServicesOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const pending = new Map(targets.map((target) => [target.name, { target, last: 'no answer yet' }]));
  for (;;) {
    await Promise.all(
      [...pending.values()].map(async (entry) => {
        try {
          const response = await fetch(entry.target.url, { signal: AbortSignal.timeout(5_000) });
          const body = await response.text();
          if (response.ok) pending.delete(entry.target.name);
          else entry.last = `${response.status} ${body}`;
        } catch (error) {
          entry.last = (error as Error).message;
        }
      }),
    );
    if (pending.size === 0) return;
    const crashing = [...pending.keys()].filter((name) => (supervisor.crashes.get(name) ?? 0) >= options.maxCrashes);
    if (crashing.length > 0) {
      throw new ServicesNotReadyError(report(supervisor, crashing.map((name) => ({ name, why: `exited ${supervisor.crashes.get(name)} times before it was ready (last: ${exitText(supervisor, name)})` }))));
    }
    if (Date.now() > deadline) {
      throw new ServicesNotReadyError(report(supervisor, [...pending.values()].map(({ target, last }) => ({ name: target.name, why: `not ready after ${options.timeoutMs / 1000}s (${target.url}: ${last})` }))));
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}

function exitText(supervisor: Supervisor, name: string): string {
  const exit = supervisor.exits.get(name);
  return exit?.signal ?? `code ${exit?.code}`;
}

function report(supervisor: Supervisor, failures: { name: string; why: string }[]): string {
  return failures
    .map(({ name, why }) => {
      const tail = supervisor.logTail(name).slice(-20).map((line) => `    ${formatLogLine(name, line)}`);
      return `${name} ${why}${tail.length > 0 ? `; its last lines:\n${tail.join('\n')}` : '; it printed nothing'}`;
    })
    .join('\n');
}
