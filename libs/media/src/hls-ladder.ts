import fs from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg, type FfmpegJob, type RunOptions } from './ffmpeg-process';
import { asMediaError } from './ffmpeg-errors';
import { AAC_LC_CODEC, avcCodecString, bandwidthOf, masterPlaylist, readRungListing, vodPlaylist, type SegmentFile, type VariantEntry } from './hls-playlists';
import { KEYFRAME_INTERVAL_SECONDS, SEGMENT_SECONDS, type Rung } from './ladder';
import { refuse } from './refusal';
import type { SourceInfo } from './source-info';

/** A finished file of the ladder, to be stored under `name` (relative to the ladder's prefix). */
export interface LadderFile {
  path: string;
  /** `master.m3u8`, `720p/index.m3u8`, `720p/init.mp4`, `720p/seg_00003.m4s`, ... */
  name: string;
  contentType: string;
}

export interface LadderJob {
  /** A local path or an http(s) URL. */
  input: string;
  /** The guard's options for it (see guardedInputOptions). */
  inputOptions: string[];
  source: SourceInfo;
  rungs: Rung[];
  /** An empty folder of this run's own; ffmpeg writes there. */
  workDir: string;
  x264Preset: string;
  /** ffmpeg's -threads; 0 lets it choose. */
  threads: number;
  run: Omit<RunOptions, 'onProgress' | 'cwd'>;
  /** 0–100, clamped, at most about twice a second. */
  onProgress?: (percent: number) => void;
  /**
   * Stores one finished file. Called one file at a time: for each segment
   * as soon as ffmpeg completes it (while it goes on encoding), then for
   * the rungs' playlists, and for the master playlist last, so a stored
   * master means a complete ladder.
   */
  publish: (file: LadderFile) => Promise<void>;
  /** How often ffmpeg's playlists are read for new segments. Default 500 ms. */
  pollIntervalMs?: number;
}

export interface Rendition {
  rung: Rung;
  /** The rung's playlist, relative to the ladder's prefix. */
  playlistName: string;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
}

export interface LadderResult {
  masterName: string;
  durationSeconds: number;
  renditions: Rendition[];
}

export const MASTER_PLAYLIST = 'master.m3u8';
const RUNG_PLAYLIST = 'index.m3u8';

export const contentTypes: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
};

/**
 * Transcodes a source into an HLS ladder with one ffmpeg process: the
 * source is decoded once and split to every rung (H.264 8-bit 4:2:0, AAC
 * stereo, fMP4 segments of about 4 s with keyframes at the same times on
 * every rung). Segments are published while ffmpeg encodes; the playlists
 * and the master playlist (ours: BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION,
 * CODECS, FRAME-RATE, measured from the segments) once it is done.
 *
 * Fails with a media refusal when the source cannot be decoded or takes
 * longer than the time limit, `media_processing_failed` when ffmpeg fails
 * otherwise (retriable), or whatever `publish` failed with.
 */
export async function transcodeLadder(job: LadderJob): Promise<LadderResult> {
  const stop = new AbortController();
  const signal = job.run.signal ? AbortSignal.any([job.run.signal, stop.signal]) : stop.signal;
  const publisher = new SegmentPublisher(job, () => stop.abort());
  await Promise.all(job.rungs.map((rung) => fs.mkdir(path.join(job.workDir, rung.name), { recursive: true })));

  const poller = setInterval(() => publisher.scan(), job.pollIntervalMs ?? 500);
  let encoded: unknown;
  try {
    await runFfmpeg(ladderCommand(job), {
      ...job.run,
      signal,
      cwd: job.workDir,
      onProgress: (seconds) => job.onProgress?.(clampPercent((seconds / job.source.durationSeconds) * 100)),
    });
  } catch (error) {
    encoded = error;
  } finally {
    clearInterval(poller);
  }
  await publisher.scan();
  await publisher.drained();
  // A failed upload stopped ffmpeg: that failure is the cause, not ffmpeg's kill.
  if (publisher.failure !== undefined) throw publisher.failure;
  if (encoded !== undefined) throw asMediaError(encoded);

  const renditions: Rendition[] = [];
  for (const rung of job.rungs) renditions.push(await publisher.finishRung(rung));
  const master = path.join(job.workDir, MASTER_PLAYLIST);
  await fs.writeFile(master, masterPlaylist(renditions.map((rendition): VariantEntry => ({ ...rendition, uri: rendition.playlistName }))));
  await job.publish({ path: master, name: MASTER_PLAYLIST, contentType: contentTypes['.m3u8']! });
  job.onProgress?.(100);
  return { masterName: MASTER_PLAYLIST, durationSeconds: publisher.durationSeconds(job.rungs[0]!), renditions };
}

/**
 * Publishes each rung's files as ffmpeg lists them complete, one at a time,
 * and deletes each segment once stored, so the work folder holds a few
 * segments at most. Init sections stay until the end (codecs are read from
 * them).
 */
class SegmentPublisher {
  failure: unknown;
  private readonly published = new Map<string, SegmentFile[]>();
  private readonly queued = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private scanning?: Promise<void>;

  constructor(
    private readonly job: LadderJob,
    private readonly stopEncoding: () => void,
  ) {}

  /** Reads every rung's playlist and queues what is new; one scan at a time. */
  scan(): Promise<void> {
    this.scanning ??= this.scanRungs().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  drained(): Promise<void> {
    return this.chain;
  }

  durationSeconds(rung: Rung): number {
    return (this.published.get(rung.name) ?? []).reduce((sum, segment) => sum + segment.durationSeconds, 0);
  }

  /** After ffmpeg ended: the rung's playlist as a VOD playlist, stored, and what the master says of it. */
  async finishRung(rung: Rung): Promise<Rendition> {
    const dir = path.join(this.job.workDir, rung.name);
    const text = await fs.readFile(path.join(dir, RUNG_PLAYLIST), 'utf8').catch(() => undefined);
    const listing = text === undefined ? undefined : readRungListing(text);
    const segments = this.published.get(rung.name) ?? [];
    if (!text || !listing?.initUri || segments.length === 0 || segments.length !== listing.segments.length) {
      throw refuse('media_undecodable', `no frame of the video could be decoded (rung ${rung.name} got ${segments.length} segments)`);
    }
    const playlist = path.join(dir, RUNG_PLAYLIST);
    await fs.writeFile(playlist, vodPlaylist(text));
    const name = `${rung.name}/${RUNG_PLAYLIST}`;
    await this.job.publish({ path: playlist, name, contentType: contentTypes['.m3u8']! });
    const video = avcCodecString(await fs.readFile(path.join(dir, listing.initUri)));
    return { rung, playlistName: name, ...bandwidthOf(segments), codecs: this.job.source.audio ? `${video},${AAC_LC_CODEC}` : video };
  }

  private async scanRungs(): Promise<void> {
    for (const rung of this.job.rungs) {
      const dir = path.join(this.job.workDir, rung.name);
      const text = await fs.readFile(path.join(dir, RUNG_PLAYLIST), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      let listing;
      try {
        listing = readRungListing(text);
      } catch {
        continue; // written again after the next segment
      }
      if (listing.initUri) this.enqueue(rung, listing.initUri, undefined);
      for (const segment of listing.segments) this.enqueue(rung, segment.uri, segment.durationSeconds);
    }
  }

  private enqueue(rung: Rung, uri: string, durationSeconds: number | undefined): void {
    const name = `${rung.name}/${uri}`;
    if (this.queued.has(name)) return;
    this.queued.add(name);
    const file = path.join(this.job.workDir, rung.name, uri);
    this.chain = this.chain.then(async () => {
      if (this.failure !== undefined) return;
      try {
        const { size } = await fs.stat(file);
        await this.job.publish({ path: file, name, contentType: contentTypes[path.extname(uri)] ?? 'application/octet-stream' });
        if (durationSeconds === undefined) return; // the init section: kept for its codecs
        const list = this.published.get(rung.name) ?? [];
        list.push({ uri, durationSeconds, bytes: size });
        this.published.set(rung.name, list);
        await fs.rm(file, { force: true });
      } catch (error) {
        this.failure = error;
        this.stopEncoding();
      }
    });
  }
}

/** The one ffmpeg command of a ladder: it writes into the current folder (the work folder). */
export function ladderCommand(job: Pick<LadderJob, 'input' | 'inputOptions' | 'source' | 'rungs' | 'x264Preset' | 'threads'>): FfmpegJob {
  const { rungs, source } = job;
  return {
    input: job.input,
    inputOptions: job.inputOptions,
    filterGraph: ladderFilterGraph(source, rungs),
    outputs: [
      {
        target: `%v/${RUNG_PLAYLIST}`,
        options: [
          ...rungs.flatMap((rung, index) => [...mapRung(index, source), ...videoEncoderOptions(rung, index, job.x264Preset)]),
          ...(source.audio ? rungs.flatMap((rung, index) => audioEncoderOptions(rung, index)) : []),
          '-threads',
          String(job.threads),
          '-max_muxing_queue_size',
          '4096',
          ...hlsMuxerOptions(rungs, source.audio !== undefined),
        ],
      },
    ],
  };
}

/**
 * Decode once, split to every rung: deinterlace if needed (ffmpeg has
 * already turned the picture upright), then per rung scale to its size with
 * square pixels, cap its frame rate (constant: variable-rate sources come
 * out regular) and make it 8-bit 4:2:0.
 */
export function ladderFilterGraph(source: SourceInfo, rungs: readonly Rung[]): string {
  const prepare = source.video.interlaced ? 'bwdif=mode=send_frame:deint=interlaced,' : '';
  const split = `[0:v:0]${prepare}split=${rungs.length}${rungs.map((_, index) => `[in${index}]`).join('')}`;
  const chains = rungs.map((rung, index) => `[in${index}]scale=${rung.width}:${rung.height}:flags=bicubic,setsar=1,fps=${rung.frameRate},format=yuv420p[v${index}]`);
  return [split, ...chains].join(';');
}

function mapRung(index: number, source: SourceInfo): string[] {
  return ['-map', `[v${index}]`, ...(source.audio ? ['-map', '0:a:0'] : [])];
}

/**
 * H.264 for one rung: quality-targeted (CRF) under a bitrate cap, a
 * keyframe every 2 s by the clock and none elsewhere (no scene-cut
 * keyframes), so segment boundaries match across rungs.
 */
export function videoEncoderOptions(rung: Rung, index: number, preset: string): string[] {
  const gop = String(Math.round(rung.frameRate * KEYFRAME_INTERVAL_SECONDS));
  const stream = (option: string, value: string) => [`-${option}:v:${index}`, value];
  return [
    ...stream('c', 'libx264'),
    ...stream('preset', preset),
    ...stream('profile', rung.profile),
    ...stream('crf', '23'),
    ...stream('maxrate', `${rung.maxrateKbps}k`),
    ...stream('bufsize', `${rung.maxrateKbps * 2}k`),
    ...stream('g', gop),
    ...stream('keyint_min', gop),
    ...stream('sc_threshold', '0'),
    ...stream('force_key_frames', `expr:gte(t,n_forced*${KEYFRAME_INTERVAL_SECONDS})`),
  ];
}

/** AAC-LC stereo at 48 kHz for one rung. */
export function audioEncoderOptions(rung: Rung, index: number): string[] {
  return [`-c:a:${index}`, 'aac', `-b:a:${index}`, `${rung.audioKbps}k`, `-ac:a:${index}`, '2', `-ar:a:${index}`, '48000'];
}

/**
 * fMP4 segments per rung in a folder named after it. ffmpeg writes an
 * EVENT playlist rewritten after each segment (atomically: temp_file), so
 * the playlist lists exactly the complete segments; the master is ours.
 */
export function hlsMuxerOptions(rungs: readonly Rung[], withAudio: boolean): string[] {
  const streams = rungs.map((rung, index) => `v:${index}${withAudio ? `,a:${index}` : ''},name:${rung.name}`).join(' ');
  return [
    '-f', 'hls',
    '-hls_time', String(SEGMENT_SECONDS),
    '-hls_playlist_type', 'event',
    '-hls_flags', 'independent_segments+temp_file',
    '-hls_segment_type', 'fmp4',
    '-hls_fmp4_init_filename', 'init.mp4',
    '-hls_segment_filename', '%v/seg_%05d.m4s',
    '-var_stream_map', streams,
  ];
}

/** A progress in whole percent, 0–100 whatever ffmpeg reports (its time can pass the probed duration). */
export const clampPercent = (percent: number) => Math.max(0, Math.min(100, Math.floor(Number.isFinite(percent) ? percent : 0)));
