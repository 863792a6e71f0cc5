import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FIXTURES_DIR = path.resolve(__dirname, '../../.data/test-fixtures');

/**
 * A small real video made with ffmpeg's lavfi test sources (never checked
 * in), cached across runs by its parameters.
 */
export async function makeVideo(options: { seconds?: number; format?: 'mp4' | 'webm' | 'mkv' | 'ts'; size?: string } = {}): Promise<string> {
  const { seconds = 2, format = 'mp4', size = '320x240' } = options;
  const file = path.join(FIXTURES_DIR, `testsrc-${seconds}s-${size}.${format}`);
  if (await exists(file)) return file;
  await fs.mkdir(FIXTURES_DIR, { recursive: true });
  const codec = format === 'webm' ? ['-c:v', 'libvpx', '-b:v', '200k', '-c:a', 'libopus'] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
  const partial = `${file}.partial.${format}`;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    ...codec, '-shortest', partial,
  ]);
  await fs.rename(partial, file);
  return file;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
