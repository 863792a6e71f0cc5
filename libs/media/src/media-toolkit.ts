import { defaultBinaries, runFfprobe, type MediaBinaries } from './ffmpeg-process';
import { asMediaError } from './ffmpeg-errors';
import { planLadder } from './ladder';
import { transcodeLadder, type LadderFile, type LadderResult } from './hls-ladder';
import { demuxerFor, guardedInputOptions } from './input-guard';
import type { Logger } from './logger';
import { refuse } from './refusal';
import { sourceInfo, type MediaLimits, type SourceInfo } from './source-info';
import { makeThumbnails, type ThumbnailSet } from './thumbnails';
import { sampleFrames, type FrameSample } from './frame-samples';
import { WorkDirs } from './work-dirs';

export interface MediaToolkitOptions {
  limits: MediaLimits;
  /** Longest one ffmpeg or ffprobe run may take; it is killed then. */
  timeLimitMs: number;
  /** ffmpeg's -threads (0: ffmpeg decides). */
  threads: number;
  x264Preset: string;
  /** Root of the work folders. */
  tempDir: string;
  logger?: Logger;
  binaries?: MediaBinaries;
}

/** A source ready to be read: where, with which guarded options, and what it holds. */
export interface OpenedSource {
  input: string;
  inputOptions: string[];
  info: SourceInfo;
}

/**
 * The media operations the services call, with their settings given once
 * (nothing here reads the app's config). Every ffmpeg and ffprobe run is
 * tied to its worker (killed with it), limited in time, and killed when its
 * signal aborts; every run works in a folder of its own, removed after.
 */
export class MediaToolkit {
  readonly workDirs: WorkDirs;
  private readonly binaries: MediaBinaries;

  constructor(readonly options: MediaToolkitOptions) {
    this.binaries = options.binaries ?? defaultBinaries;
    this.workDirs = new WorkDirs(options.tempDir, options.logger);
  }

  /**
   * Checks a source before any decoding: its first bytes pick the demuxer
   * (or refuse it: `media_unsafe_input`, `media_undecodable`), then ffprobe
   * reads it through that demuxer and its one protocol, and its streams are
   * checked against the limits (a `media_*` refusal).
   */
  async open(input: string, head: Buffer, signal?: AbortSignal): Promise<OpenedSource> {
    const demuxer = demuxerFor(head);
    const { maxSide } = this.options.limits;
    const inputOptions = guardedInputOptions(input, demuxer, maxSide * maxSide);
    let probe;
    try {
      probe = await runFfprobe(input, inputOptions, { binaries: this.binaries, timeLimitMs: Math.min(this.options.timeLimitMs, 60_000), signal, logger: this.options.logger });
    } catch (error) {
      const failure = asMediaError(error);
      // ffprobe refuses what it cannot read at all: the source is broken, not the machine.
      if (failure === error && (error as { reason?: string }).reason === 'exit') {
        throw refuse('media_undecodable', `the video cannot be read: ${(error as Error).message}`, { cause: error });
      }
      throw failure;
    }
    return { input, inputOptions, info: sourceInfo(probe, demuxer, this.options.limits) };
  }

  /** The source's HLS ladder (see transcodeLadder), made in a work folder of its own. */
  transcode(source: OpenedSource, options: { label: string; publish: (file: LadderFile) => Promise<void>; onProgress?: (percent: number) => void; signal?: AbortSignal }): Promise<LadderResult> {
    return this.workDirs.with(options.label, (workDir) =>
      transcodeLadder({
        input: source.input,
        inputOptions: source.inputOptions,
        source: source.info,
        rungs: planLadder(source.info.video),
        workDir,
        x264Preset: this.options.x264Preset,
        threads: this.options.threads,
        run: this.runOptions(options.signal),
        onProgress: options.onProgress,
        publish: options.publish,
      }),
    );
  }

  /**
   * The source's poster, placeholder and storyboard (see makeThumbnails),
   * handed to `use` while their files exist; the work folder goes after.
   */
  thumbnails<T>(source: OpenedSource, options: { label: string; onProgress?: (percent: number) => void; signal?: AbortSignal }, use: (set: ThumbnailSet) => Promise<T>): Promise<T> {
    return this.workDirs.with(options.label, async (workDir) =>
      use(await makeThumbnails({ input: source.input, inputOptions: source.inputOptions, source: source.info, workDir, run: this.runOptions(options.signal), onProgress: options.onProgress })),
    );
  }

  /** Frames spread over the source (see sampleFrames), handed to `use` while their files exist. */
  frameSamples<T>(source: OpenedSource, options: { label: string; count: number; width: number; signal?: AbortSignal }, use: (frames: FrameSample[]) => Promise<T>): Promise<T> {
    return this.workDirs.with(options.label, async (workDir) =>
      use(await sampleFrames({ input: source.input, inputOptions: source.inputOptions, source: source.info, workDir, run: this.runOptions(options.signal), count: options.count, width: options.width })),
    );
  }

  private runOptions(signal: AbortSignal | undefined) {
    return { binaries: this.binaries, timeLimitMs: this.options.timeLimitMs, signal, logger: this.options.logger };
  }
}
