import { spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from '../../../test/support/pipeline';

const REPO_ROOT = path.resolve(__dirname, '../../..');

describe('a process whose stdout is closed', () => {
  it('still exits when it is done, though its last lines have nowhere to go', async () => {
    // The suite runs with LOG_LEVEL=silent; this child must log for its stdout to matter.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'log-until-sigterm.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let firstLine: string | undefined;
    let exit: { code: number | null } | undefined;
    child.stdout!.once('data', (chunk: Buffer) => (firstLine = chunk.toString()));
    child.once('exit', (code) => (exit = { code }));
    try {
      expect(await eventually(async () => firstLine, 20_000, "the child's first log line")).toContain('"msg":"started"');

      // What the death of a supervisor does to the logs of the services it started.
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.kill('SIGTERM');

      expect(await eventually(async () => exit, 10_000, 'the child to exit after SIGTERM')).toEqual({ code: 0 });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
