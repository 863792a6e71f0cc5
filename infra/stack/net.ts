import net from 'node:net';
import { sleep } from './process';

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Checked before each probe; return a reason to stop waiting (e.g. the process exited). */
  abortReason?: () => string | undefined;
}

export type WaitOutcome<T> = { ok: true; value: T } | { ok: false; reason: 'timeout' | 'aborted'; detail: string };

/**
 * Calls `probe` until it returns a value other than undefined. A probe that
 * throws counts as "not yet"; its last error goes into the timeout detail.
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<WaitOutcome<T>> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no answer yet';
  for (;;) {
    const abort = options.abortReason?.();
    if (abort !== undefined) return { ok: false, reason: 'aborted', detail: abort };
    try {
      const value = await probe();
      if (value !== undefined) return { ok: true, value };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) return { ok: false, reason: 'timeout', detail: lastError };
    await sleep(options.intervalMs ?? 250);
  }
}
