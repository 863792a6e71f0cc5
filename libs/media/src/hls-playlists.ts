import { parse, stringify, types } from 'hls-parser';
import type { Rung } from './ladder';

/** A segment of a rung as ffmpeg listed it, with its size once known. */
export interface SegmentFile {
  /** File name, relative to the rung's playlist. */
  uri: string;
  durationSeconds: number;
  bytes: number;
}

/** What ffmpeg's playlist of a rung lists so far: its init section and the segments that are complete. */
export interface RungListing {
  initUri?: string;
  segments: { uri: string; durationSeconds: number }[];
  ended: boolean;
}

/** Reads a rung's media playlist as ffmpeg writes it (an EVENT playlist while it encodes). */
export function readRungListing(text: string): RungListing {
  const playlist = parse(text);
  if (playlist.isMasterPlaylist) throw new Error('expected a media playlist, got a master playlist');
  const media = playlist as InstanceType<typeof types.MediaPlaylist>;
  return {
    initUri: media.segments[0]?.map?.uri,
    segments: media.segments.map((segment) => ({ uri: segment.uri, durationSeconds: segment.duration })),
    ended: media.endlist,
  };
}

/** The rung's playlist as stored: ffmpeg's, made a complete VOD playlist. */
export function vodPlaylist(ffmpegPlaylist: string): string {
  const playlist = parse(ffmpegPlaylist) as InstanceType<typeof types.MediaPlaylist>;
  playlist.playlistType = 'VOD';
  playlist.endlist = true;
  return stringify(playlist);
}

/** Bits per second of a rung: BANDWIDTH is its peak segment, AVERAGE-BANDWIDTH its whole length. */
export function bandwidthOf(segments: readonly SegmentFile[]): { bandwidth: number; averageBandwidth: number } {
  let peak = 0;
  let bytes = 0;
  let seconds = 0;
  for (const segment of segments) {
    // A final sliver of a segment says little about the rate a player must sustain.
    if (segment.durationSeconds >= 0.5) peak = Math.max(peak, (segment.bytes * 8) / segment.durationSeconds);
    bytes += segment.bytes;
    seconds += segment.durationSeconds;
  }
  const averageBandwidth = seconds > 0 ? Math.ceil((bytes * 8) / seconds) : 0;
  return { bandwidth: Math.max(Math.ceil(peak), averageBandwidth, 1), averageBandwidth: Math.max(averageBandwidth, 1) };
}

/**
 * The RFC 6381 name of an H.264 stream, `avc1.PPCCLL`, read from the avcC
 * box of its fMP4 init section: profile, constraint flags and level exactly
 * as encoded (ffmpeg's own master playlist guesses them).
 */
export function avcCodecString(initSection: Buffer): string {
  const box = initSection.indexOf('avcC', 0, 'latin1');
  // After the box type: configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication.
  if (box < 0 || initSection.length < box + 8) throw new Error('the init section has no avcC box: not an H.264 stream');
  const hex = (offset: number) => initSection[box + offset]!.toString(16).padStart(2, '0');
  return `avc1.${hex(5)}${hex(6)}${hex(7)}`;
}

/** AAC-LC, which ffmpeg's aac encoder writes. */
export const AAC_LC_CODEC = 'mp4a.40.2';

export interface VariantEntry {
  rung: Rung;
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
}

/** The master playlist: one variant per rung, highest first, with everything a player chooses by. */
export function masterPlaylist(variants: readonly VariantEntry[]): string {
  return stringify(
    new types.MasterPlaylist({
      version: 7,
      independentSegments: true,
      variants: variants.map(
        (variant) =>
          new types.Variant({
            uri: variant.uri,
            bandwidth: variant.bandwidth,
            averageBandwidth: variant.averageBandwidth,
            codecs: variant.codecs,
            resolution: { width: variant.rung.width, height: variant.rung.height },
            frameRate: variant.rung.frameRate,
          }),
      ),
    }),
  );
}
