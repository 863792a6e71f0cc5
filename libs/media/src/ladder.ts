import { even, type SourceInfo } from './source-info';

/** A standard rung: its short side and the cap on its video bitrate at up to 30 frames per second. */
interface StandardRung {
  shortSide: number;
  maxrateKbps: number;
}

/** The ladder's rungs, highest first (by the picture's short side, so portrait video gets the same rungs). */
export const standardRungs: readonly StandardRung[] = [
  { shortSide: 1080, maxrateKbps: 6_000 },
  { shortSide: 720, maxrateKbps: 3_000 },
  { shortSide: 480, maxrateKbps: 1_500 },
  { shortSide: 360, maxrateKbps: 800 },
  { shortSide: 240, maxrateKbps: 400 },
];

/** Frame-rate caps: 60 at 720p and up, 30 below. */
const FPS_CAP_HIGH = 60;
const FPS_CAP_LOW = 30;
/** Rungs at more than 30 frames per second may use this much more bitrate. */
const HIGH_FPS_BITRATE_FACTOR = 1.5;
/** Every rung has a keyframe at each multiple of this: segments of all rungs start at the same times. */
export const KEYFRAME_INTERVAL_SECONDS = 2;
/** Segments last this long (two keyframe intervals). */
export const SEGMENT_SECONDS = 4;

export interface Rung {
  /** `1080p`, `720p`, ...; for a source below 240p, its own short side. */
  name: string;
  width: number;
  height: number;
  frameRate: number;
  /** Cap of the video bitrate (x264's maxrate); bufsize is twice it. */
  maxrateKbps: number;
  profile: 'high' | 'main';
  audioKbps: number;
}

/**
 * The HLS ladder for a source: every standard rung whose short side the
 * source reaches (never upscaled), highest first, and always at least one:
 * a source smaller than the lowest rung gets a single rung at its own size.
 * Each keeps the source's display aspect ratio with square pixels and even
 * dimensions; its frame rate is the source's, divided down to at most 60
 * (30 below 720p). The lowest rung uses the Main profile, for older
 * devices; the others High.
 */
export function planLadder(source: SourceInfo['video']): Rung[] {
  const { displayWidth, displayHeight } = source;
  const shortSide = Math.min(displayWidth, displayHeight);
  const fitting = standardRungs.filter((rung) => rung.shortSide <= shortSide);
  const rungs = fitting.length > 0 ? fitting : [{ shortSide: even(shortSide), maxrateKbps: standardRungs.at(-1)!.maxrateKbps }];
  return rungs.map((rung, index) => {
    const landscape = displayWidth >= displayHeight;
    const longSide = even((rung.shortSide * Math.max(displayWidth, displayHeight)) / shortSide);
    const frameRate = cappedFrameRate(source.frameRate, rung.shortSide >= 720 ? FPS_CAP_HIGH : FPS_CAP_LOW);
    const lowest = index === rungs.length - 1;
    return {
      name: `${rung.shortSide}p`,
      width: landscape ? longSide : rung.shortSide,
      height: landscape ? rung.shortSide : longSide,
      frameRate,
      maxrateKbps: Math.round(rung.maxrateKbps * (frameRate > FPS_CAP_LOW ? HIGH_FPS_BITRATE_FACTOR : 1)),
      profile: lowest ? 'main' : 'high',
      audioKbps: lowest ? 64 : 128,
    };
  });
}

/**
 * The source's rate, or if it is above `cap`, the source's divided by the
 * smallest whole number that brings it under: 60 → 30, 50 → 25,
 * 59.94 → 29.97, 120 → 60, so frames are dropped evenly.
 */
export function cappedFrameRate(sourceFps: number, cap: number): number {
  const divisor = Math.max(1, Math.ceil(sourceFps / cap - 1e-9));
  return Math.round((sourceFps / divisor) * 1000) / 1000;
}
