import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * A file of exactly `sizeBytes` that the upload API accepts as a video: a
 * real MP4 (a one-second ffmpeg lavfi clip) followed by random bytes. Made
 * at run time in `dir` and reused by later runs while its size matches;
 * never checked in.
 */
export function makeLargeVideo(dir: string, sizeBytes: number): Promise<string> {
  return once(path.join(dir, `bench-${sizeBytes}.mp4`), (file) => writeLargeVideo(dir, file, sizeBytes));
}

/** Files being made or made by this process: concurrent callers share one writer. */
const making = new Map<string, Promise<string>>();

function once(file: string, make: (file: string) => Promise<string>): Promise<string> {
  let promise = making.get(file);
  if (!promise) {
    promise = make(file);
    making.set(file, promise);
    promise.catch(() => making.delete(file));
  }
  return promise;
}

async function writeLargeVideo(dir: string, file: string, sizeBytes: number): Promise<string> {
  const existing = await fs.stat(file).catch(() => undefined);
  if (existing?.size === sizeBytes) return file;

  await fs.mkdir(dir, { recursive: true });
  const head = await fs.readFile(await makeHeadClip(dir));
  if (head.length > sizeBytes) throw new Error(`a ${sizeBytes}-byte video is smaller than its ${head.length}-byte MP4 head`);

  const partial = `${file}.partial`;
  const handle = await fs.open(partial, 'w');
  try {
    await handle.write(head);
    const chunk = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
    for (let written = head.length; written < sizeBytes; ) {
      const length = Math.min(chunk.length, sizeBytes - written);
      randomFillSync(chunk, 0, length);
      await handle.write(chunk, 0, length);
      written += length;
    }
  } finally {
    await handle.close();
  }
  await fs.rename(partial, file);
  return file;
}

function makeHeadClip(dir: string): Promise<string> {
  return once(path.join(dir, 'head-1s-320x240.mp4'), writeHeadClip);
}

async function writeHeadClip(file: string): Promise<string> {
  if (await fs.stat(file).catch(() => undefined)) return file;
  const partial = `${file}.partial.mp4`;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-movflags', '+faststart', partial,
  ]).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`ffmpeg could not make the MP4 head (${error.stderr?.trim() || error.message}); install it with apt-get install -y ffmpeg`, { cause: error });
  });
  await fs.rename(partial, file);
  return file;
}
