import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from './logger';

/**
 * Work folders under one root, named after the process that made them
 * (`<pid>-<label>-<random>`), so several workers can share the root. Each
 * run removes its own folder when it ends, however it ends; a worker that
 * was killed cannot, so the next worker to start sweeps the folders of
 * processes that no longer exist.
 */
export class WorkDirs {
  constructor(
    readonly root: string,
    private readonly logger?: Logger,
  ) {}

  /** Runs `work` in a fresh folder of its own, removed afterwards. */
  async with<T>(label: string, work: (dir: string) => Promise<T>): Promise<T> {
    await fs.mkdir(this.root, { recursive: true });
    const dir = await fs.mkdtemp(path.join(this.root, `${process.pid}-${label.replace(/[^\w.-]/g, '_')}-`));
    try {
      return await work(dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** Removes folders left by processes that are gone; returns their names. */
  async sweep(): Promise<string[]> {
    const entries = await fs.readdir(this.root).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const orphans = entries.filter((name) => {
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
    });
    await Promise.all(orphans.map((name) => fs.rm(path.join(this.root, name), { recursive: true, force: true })));
    if (orphans.length > 0) this.logger?.info({ root: this.root, removed: orphans }, 'removed work folders of workers that are gone');
    return orphans;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
