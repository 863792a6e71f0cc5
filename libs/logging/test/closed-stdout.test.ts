import { spawn } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../../..');

/** `promise`'s outcome, or `'timed out'` after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('a process whose stdout is closed', () => {
  it('still exits when it is done, though its last lines have nowhere to go', async () => {
    // The suite runs with LOG_LEVEL=silent; this child must log for its stdout to matter.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'log-until-sigterm.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const firstLine = new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      expect(await within(firstLine, 20_000)).toContain('"msg":"started"');

      // What the death of a supervisor does to the logs of the services it started.
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.kill('SIGTERM');

      expect(await within(exited, 10_000)).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
