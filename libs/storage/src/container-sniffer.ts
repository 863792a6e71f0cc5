import { Transform, type TransformCallback } from 'node:stream';
import { PipelineError } from '@video-pipeline/errors';

/** Enough bytes to see every signature below, including three MPEG-TS sync bytes. */
export const SNIFF_BYTES = 4096;

export const NOT_A_VIDEO_MESSAGE = 'the file is not a recognised video container (MP4, QuickTime, Matroska/WebM, AVI, MPEG-TS/PS, FLV, ASF, Ogg Theora)';

const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString('latin1');

/** ISO-BMFF brands that are stills or audio, not video. */
const nonVideoBrands = new Set(['M4A ', 'M4B ', 'M4P ', 'heic', 'heix', 'mif1', 'msf1', 'avif', 'avis', 'jp2 ', 'crx ']);

/**
 * Recognises a video container from its first bytes and returns its media
 * type, or undefined. Names and client-sent types are never consulted: the
 * bytes decide, which also keeps playlists and concat scripts (text) out of
 * ffmpeg's reach downstream.
 */
export function sniffVideoContainer(head: Buffer): string | undefined {
  if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (nonVideoBrands.has(brand)) return undefined;
    if (brand === 'qt  ') return 'video/quicktime';
    if (brand.startsWith('3g')) return 'video/3gpp';
    return 'video/mp4';
  }
  if (head.length >= 8 && ['moov', 'mdat', 'wide'].includes(ascii(head, 4, 8))) return 'video/quicktime';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) {
    return head.includes('webm', 0, 'latin1') ? 'video/webm' : 'video/x-matroska';
  }
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'AVI ') return 'video/x-msvideo';
  if (head.length >= 4 && ascii(head, 0, 3) === 'FLV' && head[3] === 1) return 'video/x-flv';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x000001ba) return 'video/mpeg';
  if (head.length >= 16 && head.subarray(0, 16).equals(asfHeaderGuid)) return 'video/x-ms-asf';
  if (head.length >= 4 && ascii(head, 0, 4) === 'OggS' && head.includes('theora', 0, 'latin1')) return 'video/ogg';
  if (isMpegTransportStream(head)) return 'video/mp2t';
  return undefined;
}

const asfHeaderGuid = Buffer.from('3026b2758e66cf11a6d900aa0062ce6c', 'hex');

function isMpegTransportStream(head: Buffer): boolean {
  const packet = 188;
  if (head.length < packet * 3) return false;
  return head[0] === 0x47 && head[packet] === 0x47 && head[packet * 2] === 0x47;
}

/**
 * Holds back the first bytes of a stream until it can tell whether they are
 * a video container; fails with `unsupported_media_type` (or `empty_file`)
 * before anything reaches storage, so a rejected upload leaves nothing behind.
 */
export class ContainerSniffer extends Transform {
  private head: Buffer[] = [];
  private headLength = 0;
  private decided = false;
  /** The sniffed media type, once known. */
  contentType: string | undefined;

  /** `allowEmpty`: a stream that ends without a byte passes (a resumable upload's empty request), instead of failing with `empty_file`. */
  constructor(private readonly options: { allowEmpty?: boolean } = {}) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.decided) return callback(null, chunk);
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < SNIFF_BYTES) return callback();
    this.decide(callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.decided) return callback();
    if (this.headLength === 0 && this.options.allowEmpty) return callback();
    if (this.headLength === 0) return callback(new PipelineError('empty_file', 'the uploaded file is empty'));
    this.decide(callback);
  }

  private decide(callback: TransformCallback): void {
    const head = Buffer.concat(this.head, this.headLength);
    this.head = [];
    this.contentType = sniffVideoContainer(head);
    if (!this.contentType) {
      callback(new PipelineError('unsupported_media_type', NOT_A_VIDEO_MESSAGE));
      return;
    }
    this.decided = true;
    callback(null, head);
  }
}
