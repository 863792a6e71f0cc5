import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { encode as encodeBlurHash } from 'blurhash';
import { runFfmpeg, type RunOptions } from './ffmpeg-process';
import { asMediaError } from './ffmpeg-errors';
import { even, type SourceInfo } from './source-info';
import { refuse } from './refusal';
import { storyboardLayout, storyboardVtt, type StoryboardLayout } from './storyboard';
import { bestFrame, scoreFrame, type FrameScore } from './frame-score';

export interface ThumbnailJob {
  input: string;
  inputOptions: string[];
  source: SourceInfo;
  workDir: string;
  run: Omit<RunOptions, 'onProgress' | 'cwd'>;
  /** Poster widths, largest first; none wider than the video. Default 1280, 640, 320. */
  posterWidths?: number[];
  /** Frames considered for the poster, evenly spread. Default 9. */
  candidates?: number;
  /** Storyboard: most tiles, tile width, columns. Default 100 of 192 px, 10 a row. */
  storyboard?: { maxTiles: number; tileWidth: number; columns: number; minIntervalSeconds: number };
  onProgress?: (percent: number) => void;
}

export interface PosterFile {
  path: string;
  width: number;
  height: number;
  format: 'webp' | 'jpeg';
}

export interface ThumbnailSet {
  posterTimeSeconds: number;
  /** Largest first, WebP before JPEG at each size. */
  posters: PosterFile[];
  /** BlurHash of the poster. */
  placeholder: string;
  sprite: { path: string; width: number; height: number };
  vtt: { path: string };
  layout: StoryboardLayout;
  /** How each candidate frame scored, for logs. */
  candidates: (FrameScore & { timeSeconds: number })[];
}

const defaultStoryboard = { maxTiles: 100, tileWidth: 192, columns: 10, minIntervalSeconds: 1 };

/**
 * A video's pictures, from one ffmpeg pass that decodes it once: candidate
 * poster frames spread over the video, and small frames for the
 * storyboard. The poster is the best candidate by brightness, contrast and
 * detail (never a black, blank or faded frame when a better one exists),
 * written by sharp in every size as WebP and JPEG, with a BlurHash
 * placeholder; the storyboard is one sprite sheet and a WebVTT file whose
 * cues point into it (`#xywh=`). Pictures are upright, square-pixelled and
 * in the video's display aspect ratio.
 */
export async function makeThumbnails(job: ThumbnailJob): Promise<ThumbnailSet> {
  const { source, workDir } = job;
  const candidates = job.candidates ?? 9;
  const board = job.storyboard ?? defaultStoryboard;
  const duration = source.durationSeconds;
  const posterWidth = Math.min(job.posterWidths?.[0] ?? 1280, source.video.displayWidth);
  const posterHeight = even((posterWidth * source.video.displayHeight) / source.video.displayWidth);
  const tileWidth = Math.min(board.tileWidth, even(source.video.displayWidth));
  const tileHeight = even((tileWidth * source.video.displayHeight) / source.video.displayWidth);
  const step = duration / (candidates + 1);
  const interval = Math.max(board.minIntervalSeconds, duration / board.maxTiles);
  const prepare = source.video.interlaced ? 'bwdif=mode=send_frame:deint=interlaced,' : '';

  await fs.mkdir(path.join(workDir, 'candidates'), { recursive: true });
  await fs.mkdir(path.join(workDir, 'tiles'), { recursive: true });
  try {
    await runFfmpeg(
      {
        input: job.input,
        inputOptions: job.inputOptions,
        filterGraph: [
          `[0:v:0]${prepare}split=2[c][t]`,
          // The candidates: one every `step` seconds from `step` on, so none is the very first frame.
          `[c]trim=start=${step.toFixed(3)},fps=1/${step.toFixed(6)}:round=near,scale=${posterWidth}:${posterHeight}:flags=lanczos,setsar=1,format=rgb24[candidates]`,
          `[t]fps=1/${interval.toFixed(6)}:round=near,scale=${tileWidth}:${tileHeight}:flags=bicubic,setsar=1[tiles]`,
        ].join(';'),
        outputs: [
          { target: path.join('candidates', 'frame_%03d.png'), options: ['-map', '[candidates]', '-frames:v', String(candidates), '-fps_mode', 'passthrough'] },
          { target: path.join('tiles', 'tile_%04d.jpg'), options: ['-map', '[tiles]', '-frames:v', String(board.maxTiles), '-fps_mode', 'passthrough', '-q:v', '3'] },
        ],
      },
      {
        ...job.run,
        cwd: workDir,
        onProgress: (seconds) => job.onProgress?.(Math.max(0, Math.min(90, Math.floor((seconds / duration) * 90)))),
      },
    );
  } catch (error) {
    throw asMediaError(error);
  }

  const candidateFiles = await sortedFiles(path.join(workDir, 'candidates'));
  const tileFiles = await sortedFiles(path.join(workDir, 'tiles'));
  // A clip shorter than a candidate step yields none: its storyboard frames are the candidates then.
  const pool = candidateFiles.length > 0 ? candidateFiles : tileFiles;
  if (pool.length === 0 || tileFiles.length === 0) throw refuse('media_undecodable', 'no frame of the video could be decoded');

  const scored = await Promise.all(pool.map(async (file, index) => ({ ...(await scoreFrame(file)), timeSeconds: candidateFiles.length > 0 ? step * (index + 1) : interval * index, file })));
  const chosen = bestFrame(scored);
  const posters = await writePosters(chosen.file, job.posterWidths ?? [1280, 640, 320], workDir);
  const placeholder = await blurHashOf(chosen.file);

  const layout = storyboardLayout({ tiles: tileFiles.length, tileWidth, tileHeight, columns: board.columns, intervalSeconds: interval, durationSeconds: duration });
  const sprite = await writeSprite(tileFiles, layout, path.join(workDir, 'storyboard.jpg'));
  const vttPath = path.join(workDir, 'storyboard.vtt');
  await fs.writeFile(vttPath, storyboardVtt(layout, 'storyboard.jpg'));
  job.onProgress?.(100);
  return {
    posterTimeSeconds: Math.round(chosen.timeSeconds * 1000) / 1000,
    posters,
    placeholder,
    sprite,
    vtt: { path: vttPath },
    layout,
    candidates: scored.map(({ file: _file, ...score }) => score),
  };
}

async function sortedFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort().map((name) => path.join(dir, name));
}

/** Each width no wider than the frame (at least the smallest), as WebP and JPEG. */
async function writePosters(frame: string, widths: readonly number[], workDir: string): Promise<PosterFile[]> {
  const { width: frameWidth = 0 } = await sharp(frame).metadata();
  const fitting = widths.filter((width) => width <= frameWidth);
  const sizes = fitting.length > 0 ? fitting : [frameWidth];
  const posters: PosterFile[] = [];
  for (const width of sizes) {
    for (const format of ['webp', 'jpeg'] as const) {
      const file = path.join(workDir, `poster-${width}.${format === 'jpeg' ? 'jpg' : 'webp'}`);
      const resized = sharp(frame).resize({ width, withoutEnlargement: true });
      const info = await (format === 'webp' ? resized.webp({ quality: 80 }) : resized.jpeg({ quality: 82, mozjpeg: true })).toFile(file);
      posters.push({ path: file, width: info.width, height: info.height, format });
    }
  }
  return posters;
}

/**
 * A BlurHash of a picture (about 30 characters): 4×3 components, from a
 * copy of at most 64×64, which is all the hash can hold anyway.
 */
export async function blurHashOf(image: string): Promise<string> {
  const { data, info } = await sharp(image).resize(64, 64, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const [componentsX, componentsY] = info.width >= info.height ? [4, 3] : [3, 4];
  return encodeBlurHash(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, componentsX, componentsY);
}

async function writeSprite(tiles: readonly string[], layout: StoryboardLayout, file: string): Promise<{ path: string; width: number; height: number }> {
  const info = await sharp({ create: { width: layout.columns * layout.tileWidth, height: layout.rows * layout.tileHeight, channels: 3, background: '#000000' } })
    .composite(tiles.map((tile, index) => ({ input: tile, left: layout.cues[index]!.x, top: layout.cues[index]!.y })))
    .jpeg({ quality: 75, mozjpeg: true })
    .toFile(file);
  return { path: file, width: info.width, height: info.height };
}
