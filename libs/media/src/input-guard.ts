import { sniffVideoContainer } from '@video-pipeline/storage';
import { refuse } from './refusal';

/** How many first bytes of a source the guard needs. */
export const HEAD_BYTES = 4096;

/** ffmpeg's demuxer for each container the upload API accepts (by its sniffed media type). */
const demuxers: Record<string, string> = {
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/3gpp': 'mov',
  'video/webm': 'matroska',
  'video/x-matroska': 'matroska',
  'video/x-msvideo': 'avi',
  'video/x-flv': 'flv',
  'video/mpeg': 'mpeg',
  'video/mp2t': 'mpegts',
  'video/x-ms-asf': 'asf',
  'video/ogg': 'ogg',
};

/**
 * Beginnings of formats whose files name other files or URLs for ffmpeg to
 * open: HLS and other M3U playlists, ffconcat scripts, DASH manifests and
 * other XML (SMIL, ...), PLS and SDP files, and the `file '...'` lines of a
 * concat list.
 */
const referencingFormats = [/^#EXT/i, /^#!?\s*ffconcat/i, /^ffconcat/i, /^<\?xml/i, /^<(MPD|smil|playlist|asx)\b/i, /^\[playlist\]/i, /^v=0\r?\n/, /^file\s/i, /^#/];

/** Text that names a place to open: a URL scheme or an absolute path after a keyword. */
const referencesInText = /[a-z][a-z0-9+.-]*:\/\/|\bfile:|^\s*file\s+['"/]/im;

/**
 * The demuxer to force on ffmpeg for a source, from its first bytes; ffmpeg
 * never guesses the format itself, so it never picks a demuxer that opens
 * other files or addresses (hls, dash, concat, ...). Throws
 * `media_unsafe_input` for a playlist, script or other text that references
 * other inputs, and `media_undecodable` for anything else it does not know.
 */
export function demuxerFor(head: Buffer): string {
  const type = sniffVideoContainer(head);
  if (type) return demuxers[type]!;
  const text = head.toString('latin1').replace(/^\uFEFF|^\u00EF\u00BB\u00BF/, '').trimStart();
  if (referencingFormats.some((pattern) => pattern.test(text)) || (isMostlyText(head) && referencesInText.test(text))) {
    throw refuse('media_unsafe_input', 'the file is a playlist, script or other text that refers to other files or addresses; only video files are accepted');
  }
  throw refuse('media_undecodable', 'the file is not a video container that can be decoded (MP4, QuickTime, Matroska/WebM, AVI, MPEG-TS/PS, FLV, ASF, Ogg)');
}

function isMostlyText(head: Buffer): boolean {
  if (head.length === 0) return false;
  let printable = 0;
  for (const byte of head) if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127)) printable += 1;
  return printable / head.length > 0.9;
}

/** The protocols ffmpeg may use for an input: the one its location needs, nothing else. */
export function protocolsFor(input: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return 'file';
  if (scheme === 'http') return 'http,tcp';
  if (scheme === 'https') return 'https,tls,tcp';
  throw new Error(`inputs by ${scheme}:// are not supported; pass an http(s) URL or a local path`);
}

/**
 * Input options that keep ffmpeg on the one input: its forced demuxer, its
 * protocol alone, and, in an MP4/QuickTime file, no data references to
 * other files. Network reads give up after 30 s without data; decoders
 * refuse frames of more than `maxPixels`, whatever the headers claimed.
 */
export function guardedInputOptions(input: string, demuxer: string, maxPixels: number): string[] {
  const protocols = protocolsFor(input);
  return [
    '-protocol_whitelist',
    protocols,
    ...(protocols === 'file' ? [] : ['-rw_timeout', '30000000']),
    '-f',
    demuxer,
    ...(demuxer === 'mov' ? ['-enable_drefs', '0'] : []),
    '-max_pixels',
    String(maxPixels),
  ];
}
