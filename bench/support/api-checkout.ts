import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../infra/stack/paths';

const run = promisify(execFile);

/**
 * The repository as it was at `commit`, with its own dependencies
 * installed, so that an older upload API can run beside the current one in
 * the same benchmark (say, before and after a change to it). Extracted with
 * `git archive` (not a git worktree: nothing in the repository changes) into
 * the system's temporary folder, outside this tree, where jest would find a
 * second copy of every package, and reused by later runs.
 */
export const CHECKOUTS_DIR = path.join(os.tmpdir(), 'video-pipeline-bench-checkouts');

export async function checkoutAt(commit: string, progress: (message: string) => void): Promise<{ root: string; commit: string }> {
  const { stdout } = await run('git', ['rev-parse', '--verify', `${commit}^{commit}`], { cwd: REPO_ROOT });
  const sha = stdout.trim();
  const root = path.join(CHECKOUTS_DIR, sha);
  const ready = path.join(root, '.bench-ready');
  if (await fs.stat(ready).then(() => true, () => false)) return { root, commit: sha };

  progress(`extracting ${sha.slice(0, 7)} into ${root} and installing its dependencies (first time only, a few minutes)`);
  await fs.rm(root, { recursive: true, force: true });
  await fs.mkdir(root, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const archive = spawn('git', ['archive', '--format=tar', sha], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const extract = spawn('tar', ['-x', '-C', root], { stdio: ['pipe', 'inherit', 'inherit'] });
    archive.stdout.pipe(extract.stdin);
    archive.once('error', reject);
    extract.once('error', reject);
    extract.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`extracting ${sha} failed (tar exited ${code})`))));
  });
  await run(process.execPath, ['infra/ensure-deps.mjs'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  await fs.writeFile(ready, `${new Date().toISOString()}\n`);
  return { root, commit: sha };
}
