/**
 * The one place that drives ffmpeg and ffprobe: through fluent-ffmpeg,
 * pinned at 2.1.3 (archived upstream in May 2025). Nothing else imports it,
 * so replacing it touches this file alone.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from './logger';

/** Executables to run. The defaults are wrappers that tie each run to its parent (see bin/ffmpeg). */
export interface MediaBinaries {
  ffmpeg: string;
  ffprobe: string;
}

export const defaultBinaries: MediaBinaries = {
  ffmpeg: path.resolve(__dirname, '../bin/ffmpeg'),
  ffprobe: path.resolve(__dirname, '../bin/ffprobe'),
};

/** One ffmpeg command: an input with its options, an optional filter graph, and outputs with theirs. */
export interface FfmpegJob {
  input: string;
  inputOptions: string[];
  /** A -filter_complex graph. */
  filterGraph?: string;
  /** Options placed before the outputs, after the filter graph (mapping, codecs, muxer). */
  outputs: { target: string; options: string[] }[];
}

export interface RunOptions {
  binaries: MediaBinaries;
  /** The run is killed (SIGKILL) after this long and fails with reason `timeout`. */
  timeLimitMs: number;
  /** Aborting kills the run (SIGKILL) and fails it with reason `aborted`. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Seconds of output written so far, as ffmpeg reports them (about twice a second). */
  onProgress?: (seconds: number) => void;
  /** Working directory of the ffmpeg process. */
  cwd?: string;
}

export type FfmpegFailure = 'exit' | 'timeout' | 'aborted' | 'killed' | 'spawn';

/** A failed ffmpeg or ffprobe run, with what is needed to understand it. */
export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly reason: FfmpegFailure,
    /** The command as run, for logs and bug reports. */
    readonly commandLine: string,
    /** The last lines ffmpeg wrote on stderr. */
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(stderrTail ? `${message}; ffmpeg said:\n${stderrTail}` : message, options);
    this.name = 'FfmpegError';
  }
}

/** How many stderr lines an error keeps: enough for the cause, little enough for a log line or a database column. */
const STDERR_TAIL_LINES = 20;
/** How many stderr lines are kept while ffmpeg runs, to pick the tail from: its encoders' closing statistics alone take dozens. */
const STDERR_RING_LINES = 500;

/** Runs one ffmpeg command to its end; rejects with an FfmpegError on failure, timeout or abort, after ffmpeg has exited. */
export function runFfmpeg(job: FfmpegJob, options: RunOptions): Promise<void> {
  const command = ffmpeg({ stdoutLines: STDERR_RING_LINES, cwd: options.cwd }).setFfmpegPath(options.binaries.ffmpeg).setFfprobePath(options.binaries.ffprobe);
  // Options go in as separate arguments: given as one array, fluent-ffmpeg splits any value with one space in two.
  command.input(job.input).inputOptions('-hide_banner', '-nostdin', ...job.inputOptions);
  if (job.filterGraph) command.complexFilter(job.filterGraph);
  for (const output of job.outputs) command.output(output.target).outputOptions(...output.options);

  return new Promise<void>((resolve, reject) => {
    let commandLine = 'ffmpeg (not started)';
    let stopped: FfmpegFailure | undefined;
    let started = false;
    let exited = false;
    const stop = (reason: FfmpegFailure) => {
      if (stopped || exited) return;
      stopped = reason;
      // Before its start fluent-ffmpeg has no process to kill (it checks ffmpeg's formats and encoders first): the start handler kills it.
      if (started) command.kill('SIGKILL');
    };
    const onAbort = () => stop('aborted');
    const timer = setTimeout(() => stop('timeout'), options.timeLimitMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      exited = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    command
      .on('start', (line: string) => {
        commandLine = line.replace(/^ffmpeg /, `${options.binaries.ffmpeg} `);
        options.logger?.debug({ commandLine }, 'ffmpeg started');
        started = true;
        // A time limit or an abort that came before the process existed: it is killed now.
        if (options.signal?.aborted) stopped ??= 'aborted';
        if (stopped) command.kill('SIGKILL');
      })
      // Progress read from stderr, not from fluent-ffmpeg's 'progress' event: listening to that makes it run an
      // ffprobe of the input (for a percentage we do not use), without our input options, time limit or abort.
      .on('stderr', (line: string) => {
        const seconds = timemarkSeconds(/\btime=\s*(\S+)/.exec(line)?.[1]);
        if (seconds !== undefined) options.onProgress?.(seconds);
      })
      .on('end', () => {
        settle();
        resolve();
      })
      .on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
        settle();
        const tail = tailLines(stderr ?? '');
        const reason = stopped ?? (/spawn|ENOENT|EACCES/.test(error.message) ? 'spawn' : /killed with signal/.test(error.message) ? 'killed' : 'exit');
        const message =
          reason === 'timeout'
            ? `ffmpeg ran past its time limit of ${options.timeLimitMs} ms and was killed`
            : reason === 'aborted'
              ? 'ffmpeg was stopped: its work was cancelled'
              : `ffmpeg failed: ${error.message}`;
        reject(new FfmpegError(message, reason, commandLine, tail, { cause: error }));
      });
    command.run();
  });
}

/** What ffprobe tells of a source; the fields we read, as ffprobe names them. */
export interface ProbeData {
  format: { format_name?: string; duration?: number | string; bit_rate?: number | string; size?: number | string };
  streams: ProbedStream[];
}

export interface ProbedStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string | number;
  level?: number | string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  bits_per_raw_sample?: number | string;
  sample_aspect_ratio?: string;
  field_order?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: number | string;
  channels?: number;
  sample_rate?: number | string;
  tags?: Record<string, string | number>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
  disposition?: Record<string, number>;
}

/**
 * Runs ffprobe on one input. `inputOptions` go before the input (a forced
 * demuxer, a protocol whitelist). Rejects with an FfmpegError when ffprobe
 * fails (it cannot read the input), runs out of time or is aborted; it is
 * killed in the last two cases.
 *
 * ffprobe is spawned here rather than through fluent-ffmpeg's `ffprobe()`,
 * which gives no handle on its process (so it could not be killed) and
 * parses ffprobe's text output, where JSON says the same with its types.
 */
export async function runFfprobe(input: string, inputOptions: string[], options: Omit<RunOptions, 'onProgress' | 'cwd'>): Promise<ProbeData> {
  const args = ['-hide_banner', '-v', 'error', '-of', 'json', '-show_streams', '-show_format', ...inputOptions, input];
  const commandLine = [options.binaries.ffprobe, ...args].join(' ');
  const signals = [AbortSignal.timeout(options.timeLimitMs), ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);
  try {
    const stdout = await execFileToExit(options.binaries.ffprobe, args, signal);
    const data = JSON.parse(stdout) as Partial<ProbeData>;
    return { format: data.format ?? {}, streams: data.streams ?? [] };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    if (options.signal?.aborted) throw new FfmpegError('ffprobe was stopped: its work was cancelled', 'aborted', commandLine, tailLines(stderr), { cause: error });
    if (signal.aborted) throw new FfmpegError(`ffprobe ran past its time limit of ${options.timeLimitMs} ms and was killed`, 'timeout', commandLine, tailLines(stderr), { cause: error });
    const reason = (error as { code?: unknown }).code === 'ENOENT' ? 'spawn' : 'exit';
    throw new FfmpegError('ffprobe could not read the input', reason, commandLine, tailLines(stderr || (error as Error).message), { cause: error });
  }
}

/**
 * Runs a command to its end and gives its stdout; `signal` kills it (SIGKILL).
 * It settles once the process has exited: execFile's own `signal` option
 * settles as soon as it has sent the kill, with the process still there.
 */
function execFileToExit(file: string, args: string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const kill = () => child.kill('SIGKILL');
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      signal.removeEventListener('abort', kill);
      if (error) reject(Object.assign(error, { stderr }));
      else resolve(stdout);
    });
    if (signal.aborted) kill();
    else signal.addEventListener('abort', kill, { once: true });
  });
}

function timemarkSeconds(timemark: string | undefined): number | undefined {
  if (!timemark) return undefined;
  const match = /^(-?)(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(timemark);
  if (!match) return undefined;
  const seconds = Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]);
  return match[1] ? 0 : seconds;
}

/** Encoders' closing statistics and progress lines: noise when looking for why a run failed. */
const statistics = /^\[(libx264|libx265|aac) @ [^\]]+\] (?!.*(error|invalid|fail))|^(frame|size)=/i;

/** The last lines of ffmpeg's stderr that can tell why it failed. */
function tailLines(text: string, lines = STDERR_TAIL_LINES): string {
  return text
    .trimEnd()
    .split('\n')
    .filter((line) => !statistics.test(line))
    .slice(-lines)
    .join('\n');
}
