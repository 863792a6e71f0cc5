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
  /** At most how many frames, spread over the video: keyframes at least duration ÷ count apart. */
  count: number;
  /** Width of the frames written (upright, square pixels); small, for hashing. */
  width: number;
}

/** A frame, as a PNG file in the work folder, and about when it is in the video (at or after that time). */
export interface FrameSample {
  timeSeconds: number;
  path: string;
}

/**
 * `count` frames spread over the video, upright and square-pixelled,
 * `width` wide, as PNG: what moderation compares with its known-bad
 * pictures. Only keyframes are decoded (`-skip_frame nokey`), so a long
 * video costs little more than reading it; a source with few keyframes
 * (a short clip has one) yields fewer samples.
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
        inputOptions: ['-skip_frame', 'nokey', ...job.inputOptions],
        // The first keyframe, then each keyframe at least `step` after the last one taken.
        filterGraph: `[0:v:0]${prepare}select='isnan(prev_selected_t)+gte(t-prev_selected_t\,${step.toFixed(3)})',scale=${job.width}:${height},setsar=1,format=rgb24[frames]`,
        outputs: [{ target: 'frame_%03d.png', options: ['-map', '[frames]', '-frames:v', String(count), '-fps_mode', 'passthrough'] }],
      },
      { ...job.run, cwd: job.workDir },
    );
  } catch (error) {
    throw asMediaError(error);
  }
  const files = (await fs.readdir(job.workDir)).filter((name) => name.startsWith('frame_')).sort();
  return files.map((name, index) => ({ timeSeconds: index * step, path: path.join(job.workDir, name) }));
}
