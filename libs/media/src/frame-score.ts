import sharp from 'sharp';

/** How good a frame would be as a poster: its brightness, contrast and detail. */
export interface FrameScore {
  /** Mean of the channels' means, 0–255. */
  brightness: number;
  /** Mean of the channels' standard deviations. */
  contrast: number;
  /** Shannon entropy of the picture's histogram, in bits. */
  detail: number;
  /** Not black, white, flat or mid-fade. */
  usable: boolean;
  score: number;
}

/** Frames darker or brighter than this (mean) are black or white frames, or fades. */
const MIN_BRIGHTNESS = 28;
const MAX_BRIGHTNESS = 235;
/** Frames with less spread than this are blank. */
const MIN_CONTRAST = 14;

/** Scores a frame (an image file), on a small copy. */
export async function scoreFrame(file: string): Promise<FrameScore> {
  const stats = await sharp(file).resize(160, 160, { fit: 'inside' }).removeAlpha().stats();
  const channels = stats.channels.slice(0, 3);
  const brightness = channels.reduce((sum, channel) => sum + channel.mean, 0) / channels.length;
  const contrast = channels.reduce((sum, channel) => sum + channel.stdev, 0) / channels.length;
  return judge({ brightness, contrast, detail: stats.entropy });
}

/** The score of measured figures: detail counts most, contrast next; an unusable frame scores below every usable one. */
export function judge(figures: Pick<FrameScore, 'brightness' | 'contrast' | 'detail'>): FrameScore {
  const usable = figures.brightness >= MIN_BRIGHTNESS && figures.brightness <= MAX_BRIGHTNESS && figures.contrast >= MIN_CONTRAST;
  const score = figures.detail + figures.contrast / 32 - (usable ? 0 : 100);
  return { ...figures, usable, score };
}

/** The highest-scoring frame; among equals, the earliest. */
export function bestFrame<T extends { score: number }>(frames: readonly T[]): T {
  if (frames.length === 0) throw new Error('no frames to choose from');
  return frames.reduce((best, frame) => (frame.score > best.score ? frame : best));
}
