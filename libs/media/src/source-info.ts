import type { ProbeData, ProbedStream } from './ffmpeg-process';
import { refuse } from './refusal';

/** What the pipeline needs to know of a source video, read from ffprobe. */
export interface SourceInfo {
  /** The demuxer ffmpeg reads it with. */
  demuxer: string;
  durationSeconds: number;
  video: {
    codec: string;
    /** As stored (before rotation). */
    width: number;
    height: number;
    /** As shown: rotation applied and pixels made square. Even numbers. */
    displayWidth: number;
    displayHeight: number;
    /** Clockwise degrees a player turns the picture: 0, 90, 180 or 270. */
    rotation: number;
    /**
     * Frames per second to encode at: the mean rate, or for variable-rate
     * video (phones) its nominal rate when that is plausible (at most twice
     * the mean), so 29.7 frames a second on average come out at 30.
     */
    frameRate: number;
    /** Frame timestamps are irregular (the nominal rate differs from the mean). */
    variableFrameRate: boolean;
    pixelFormat: string;
    interlaced: boolean;
  };
  audio?: { codec: string; channels: number };
}

export interface MediaLimits {
  maxSide: number;
  maxDurationSeconds: number;
  maxFps: number;
}

/**
 * Video codecs accepted: ones phones, cameras, screen recorders and editors
 * produce, that this ffmpeg decodes. Anything else is refused with
 * `media_unsupported_codec` rather than tried.
 */
const supportedVideoCodecs = new Set([
  'h264', 'hevc', 'vp8', 'vp9', 'av1', 'mpeg4', 'mpeg2video', 'mpeg1video', 'h263', 'flv1', 'msmpeg4v2', 'msmpeg4v3', 'wmv1', 'wmv2', 'wmv3', 'vc1',
  'prores', 'dnxhd', 'mjpeg', 'theora', 'dvvideo', 'qtrle', 'rawvideo', 'ffv1', 'huffyuv', 'utvideo', 'cfhd',
]);

/**
 * The source's facts from ffprobe's answer, checked against the limits.
 * Throws a media refusal: `media_no_video_stream`, `media_unsupported_codec`,
 * `media_undecodable` (no duration or size can be read),
 * `media_resolution_too_large`, `media_too_long` or `media_frame_rate_too_high`.
 */
export function sourceInfo(probe: ProbeData, demuxer: string, limits: MediaLimits): SourceInfo {
  const video = probe.streams.find((stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1);
  if (!video) throw refuse('media_no_video_stream', 'the file has no video stream (audio only, or a still picture)');
  const codec = video.codec_name;
  if (!codec || !supportedVideoCodecs.has(codec)) throw refuse('media_unsupported_codec', `the video codec ${codec ?? '(unknown)'} is not supported`, { details: { codec: codec ?? null } });
  if (!video.pix_fmt || video.pix_fmt === 'unknown') throw refuse('media_unsupported_codec', `the ${codec} video has no pixel format ffmpeg can decode`);
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  if (!(width > 0 && height > 0)) throw refuse('media_undecodable', 'the video has no frame size; it cannot be decoded');
  if (width > limits.maxSide || height > limits.maxSide) {
    throw refuse('media_resolution_too_large', `the video is ${width}x${height}; at most ${limits.maxSide} pixels per side are accepted`, { details: { width, height, maxSide: limits.maxSide } });
  }
  const durationSeconds = number(probe.format.duration) ?? number(video.duration);
  if (durationSeconds === undefined || durationSeconds <= 0) throw refuse('media_undecodable', 'the video has no duration that can be read; it cannot be decoded');
  if (durationSeconds > limits.maxDurationSeconds) {
    throw refuse('media_too_long', `the video lasts ${Math.round(durationSeconds)} s; at most ${limits.maxDurationSeconds} s are accepted`, { details: { durationSeconds, maxDurationSeconds: limits.maxDurationSeconds } });
  }
  const nominal = rate(video.r_frame_rate);
  const mean = rate(video.avg_frame_rate) ?? nominal;
  if (mean === undefined) throw refuse('media_undecodable', 'the video has no frame rate that can be read; it cannot be decoded');
  if (mean > limits.maxFps) {
    throw refuse('media_frame_rate_too_high', `the video runs at ${mean.toFixed(2)} frames per second; at most ${limits.maxFps} are accepted`, { details: { frameRate: mean, maxFps: limits.maxFps } });
  }
  const variableFrameRate = nominal !== undefined && Math.abs(nominal - mean) / mean > 0.01;
  const frameRate = variableFrameRate && nominal! > mean && nominal! <= 2 * mean && nominal! <= limits.maxFps ? nominal! : mean;
  const rotation = rotationOf(video);
  const [displayWidth, displayHeight] = displaySize(width, height, video.sample_aspect_ratio, rotation);
  const audio = probe.streams.find((stream) => stream.codec_type === 'audio');
  return {
    demuxer,
    durationSeconds,
    video: {
      codec,
      width,
      height,
      displayWidth,
      displayHeight,
      rotation,
      frameRate: round3(frameRate),
      variableFrameRate,
      pixelFormat: video.pix_fmt,
      interlaced: ['tt', 'bb', 'tb', 'bt'].includes(video.field_order ?? ''),
    },
    audio: audio?.codec_name ? { codec: audio.codec_name, channels: audio.channels ?? 2 } : undefined,
  };
}

function number(value: number | string | undefined): number | undefined {
  const parsed = typeof value === 'string' ? Number(value) : value;
  return parsed !== undefined && Number.isFinite(parsed) ? parsed : undefined;
}

/** `30000/1001` as a number; undefined for `0/0` and the like. */
function rate(text: string | undefined): number | undefined {
  const [numerator, denominator] = (text ?? '').split('/').map(Number);
  if (!numerator || !denominator || !Number.isFinite(numerator / denominator)) return undefined;
  return numerator / denominator;
}

/** Clockwise rotation to display, from the display matrix or the older `rotate` tag. */
function rotationOf(stream: ProbedStream): number {
  const matrix = stream.side_data_list?.find((side) => side.side_data_type === 'Display Matrix')?.rotation;
  const degrees = matrix ?? Number(stream.tags?.rotate ?? 0);
  return (((Math.round(degrees / 90) * 90) % 360) + 360) % 360;
}

/** The picture as shown: stretched to square pixels, turned by the rotation, in even numbers. */
function displaySize(width: number, height: number, sampleAspectRatio: string | undefined, rotation: number): [number, number] {
  const [sarWidth, sarHeight] = (sampleAspectRatio ?? '1:1').split(':').map(Number);
  const sar = sarWidth && sarHeight ? sarWidth / sarHeight : 1;
  // Non-square pixels widen (or narrow) the picture; the stored height stays.
  const shownWidth = even(width * sar);
  const shownHeight = even(height);
  return rotation === 90 || rotation === 270 ? [shownHeight, shownWidth] : [shownWidth, shownHeight];
}

export const even = (value: number) => Math.max(2, 2 * Math.round(value / 2));
const round3 = (value: number) => Math.round(value * 1000) / 1000;
