import fs from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg, type RunOptions } from './ffmpeg-process';
import { asMediaError } from './ffmpeg-errors';
import type { SourceInfo } from './source-info';

export interface FrameSampleJob {
  input: string;
  inputOptions: string[];
  source: SourceInfo;
  workDir: string;
  run: Omit<RunOptions, 'onProgress' | 'cwd'>;
  /** How many frames, evenly spread over the video (one in the middle of each equal part). */
  count: number;
  /** Width of the frames written (upright, square pixels); small, for hashing. */
  width: number;
}

/** A time in the video and its frame, as a PNG file in the work folder. */
export interface FrameSample {
  timeSeconds: number;
  path: string;
}

/**
 * `count` frames spread over the video from one decoding pass (fewer when
 * the video has fewer), upright and square-pixelled, `width` wide, as PNG:
 * what moderation compares with its known-bad pictures.
 */
export async function sampleFrames(job: FrameSampleJob): Promise<FrameSample[]> {
  const { source, count } = job;
  const step = source.durationSeconds / count;
  const height = Math.max(2, 2 * Math.round((job.width * source.video.displayHeight) / source.video.displayWidth / 2));
  const prepare = source.video.interlaced ? 'bwdif=mode=send_frame:deint=interlaced,' : '';
  try {
    await runFfmpeg(
      {
        input: job.input,
        inputOptions: job.inputOptions,
        filterGraph: `[0:v:0]${prepare}trim=start=${(step / 2).toFixed(3)},fps=1/${step.toFixed(6)}:round=near,scale=${job.width}:${height},setsar=1,format=rgb24[frames]`,
        outputs: [{ target: 'frame_%03d.png', options: ['-map', '[frames]', '-frames:v', String(count), '-fps_mode', 'passthrough'] }],
      },
      { ...job.run, cwd: job.workDir },
    );
  } catch (error) {
    throw asMediaError(error);
  }
  const files = (await fs.readdir(job.workDir)).filter((name) => name.startsWith('frame_')).sort();
  return files.map((name, index) => ({ timeSeconds: step / 2 + index * step, path: path.join(job.workDir, name) }));
}
