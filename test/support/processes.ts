import fs from 'node:fs/promises';

/** Processes whose parent is `parent` and whose command is `name` (e.g. the ffmpeg a worker runs). */
export async function childrenNamed(parent: number, name: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await fs.readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    if (new RegExp(`^Name:\\s+${name}$`, 'm').test(status) && new RegExp(`^PPid:\\s+${parent}$`, 'm').test(status)) found.push(Number(entry));
  }
  return found;
}

/** Whether a process runs (a zombie waiting for its parent does not). */
export async function isAlive(pid: number): Promise<boolean> {
  return fs.readFile(`/proc/${pid}/status`, 'utf8').then(
    (status) => !/^State:\s+Z/m.test(status),
    () => false,
  );
}
