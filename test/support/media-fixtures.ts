import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Small source videos made with ffmpeg's lavfi sources in a temporary
 * folder of the test file's own (never checked in), removed by `remove()`.
 * `make(name, args)` runs `ffmpeg <args> <folder>/<name>` once per name.
 */
export class MediaFixtures {
  private dir?: string;
  private readonly made = new Map<string, Promise<string>>();

  async folder(): Promise<string> {
    this.dir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'media-fixtures-'));
    return this.dir;
  }

  make(name: string, args: string[]): Promise<string> {
    let file = this.made.get(name);
    if (!file) {
      file = this.folder().then(async (dir) => {
        const target = path.join(dir, name);
        await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, target]).catch((error: { stderr?: string }) => {
          throw new Error(`could not make fixture ${name}: ${error.stderr ?? String(error)}`);
        });
        return target;
      });
      this.made.set(name, file);
    }
    return file;
  }

  /** A file of the given bytes. */
  async write(name: string, bytes: Buffer | string): Promise<string> {
    const target = path.join(await this.folder(), name);
    await fs.writeFile(target, bytes);
    return target;
  }

  async remove(): Promise<void> {
    if (this.dir) await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/** lavfi inputs: a test pattern of `size` at `rate` for `seconds`, and a tone. */
export const testPattern = (size: string, seconds: number, rate: number | string = 30) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`];
export const tone = (seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`];
export const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
export const aac = ['-c:a', 'aac', '-b:a', '96k'];

/** What ffprobe says of a file or URL, as JSON. */
export async function ffprobeJson(input: string, args: string[] = ['-show_streams', '-show_format']): Promise<any> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args, input], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}

/** Presentation times (s) of a video's keyframes. */
export async function keyframeTimes(input: string): Promise<number[]> {
  const { frames } = await ffprobeJson(input, ['-select_streams', 'v:0', '-skip_frame', 'nokey', '-show_entries', 'frame=pts_time,key_frame']);
  return (frames as { pts_time: string }[]).map((frame) => Math.round(Number(frame.pts_time) * 1000) / 1000);
}
