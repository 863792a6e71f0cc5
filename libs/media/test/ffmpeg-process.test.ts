import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FfmpegError, defaultBinaries, runFfmpeg, runFfprobe, WorkDirs } from '@video-pipeline/media';
import { eventually } from '../../../test/support/pipeline';
import { childrenNamed, isAlive } from '../../../test/support/processes';

jest.setTimeout(30_000);

/** An ffmpeg run that never ends by itself: a live test pattern, in real time, to nowhere. */
const endless = { input: 'testsrc2=size=160x120:rate=10', inputOptions: ['-re', '-f', 'lavfi'], outputs: [{ target: '-', options: ['-f', 'null'] }] };

describe('runFfmpeg', () => {
  it('kills ffmpeg when its time limit passes, and says so', async () => {
    const error = await runFfmpeg(endless, { binaries: defaultBinaries, timeLimitMs: 1_500 }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(FfmpegError);
    // The command line is known from ffmpeg's start on: it ran, and none of our ffmpeg processes is left.
    expect(error).toMatchObject({ reason: 'timeout', commandLine: expect.stringContaining('-f lavfi -i testsrc2') });
    expect(await childrenNamed(process.pid, 'ffmpeg')).toEqual([]);
  });

  // fluent-ffmpeg checks ffmpeg's formats and encoders before it starts ffmpeg: a kill asked for meanwhile finds no process.
  it('kills ffmpeg whose time limit passed while it was being started', async () => {
    await expect(runFfmpeg(endless, { binaries: defaultBinaries, timeLimitMs: 1 })).rejects.toMatchObject({ reason: 'timeout' });
    expect(await childrenNamed(process.pid, 'ffmpeg')).toEqual([]);
  });

  it('kills ffmpeg whose signal aborted while it was being started', async () => {
    const abort = new AbortController();
    const running = runFfmpeg(endless, { binaries: defaultBinaries, timeLimitMs: 60_000, signal: abort.signal });
    abort.abort();
    await expect(running).rejects.toMatchObject({ reason: 'aborted' });
    expect(await childrenNamed(process.pid, 'ffmpeg')).toEqual([]);
  });

  it('runs no ffprobe beside ffmpeg, which nothing would stop', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'no-probe-'));
    try {
      // An ffprobe that never ends by itself: one started for the run would still be there after it.
      const ffprobe = path.join(dir, 'ffprobe');
      await fs.writeFile(ffprobe, '#!/bin/sh\nwhile :; do sleep 1; done\n', { mode: 0o755 });
      const progress: number[] = [];
      const oneSecond = { input: 'testsrc2=size=160x120:rate=10:duration=1', inputOptions: ['-f', 'lavfi'], outputs: [{ target: '-', options: ['-f', 'null'] }] };
      await runFfmpeg(oneSecond, { binaries: { ...defaultBinaries, ffprobe }, timeLimitMs: 20_000, onProgress: (seconds) => progress.push(seconds) });
      expect(await childrenNamed(process.pid, 'ffprobe')).toEqual([]);
      expect(progress.at(-1)).toBeCloseTo(1, 0);
    } finally {
      for (const pid of await childrenNamed(process.pid, 'ffprobe')) process.kill(pid, 'SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('kills ffmpeg when its signal aborts, and reports progress meanwhile', async () => {
    const abort = new AbortController();
    const progress: number[] = [];
    const running = runFfmpeg(endless, { binaries: defaultBinaries, timeLimitMs: 60_000, signal: abort.signal, onProgress: (seconds) => progress.push(seconds) });
    await eventually(async () => progress.length > 0, 10_000, 'progress');
    const [pid] = await childrenNamed(process.pid, 'ffmpeg');
    abort.abort();
    await expect(running).rejects.toMatchObject({ reason: 'aborted' });
    expect(await isAlive(pid!)).toBe(false);
    expect(progress.every((seconds) => seconds >= 0)).toBe(true);
  });

  it('fails with the command line and the tail of stderr when ffmpeg fails', async () => {
    const error = (await runFfmpeg({ input: '/nonexistent/input.mp4', inputOptions: ['-f', 'mov'], outputs: [{ target: '-', options: ['-f', 'null'] }] }, { binaries: defaultBinaries, timeLimitMs: 10_000 }).then(
      () => undefined,
      (failure: unknown) => failure,
    )) as FfmpegError;
    expect(error).toBeInstanceOf(FfmpegError);
    expect(error.reason).toBe('exit');
    expect(error.commandLine).toContain('-i /nonexistent/input.mp4');
    expect(error.stderrTail).toMatch(/No such file or directory/);
    expect(error.message).toContain(error.stderrTail);
  });

  it('fails as a crash when ffmpeg is killed by someone else', async () => {
    const running = runFfmpeg(endless, { binaries: defaultBinaries, timeLimitMs: 60_000 });
    const [pid] = await eventually(async () => {
      const pids = await childrenNamed(process.pid, 'ffmpeg');
      return pids.length > 0 ? pids : undefined;
    }, 5_000, 'ffmpeg to start');
    process.kill(pid!, 'SIGSEGV');
    await expect(running).rejects.toMatchObject({ reason: 'killed' });
  });
});

describe('runFfprobe', () => {
  /** Runs `use` with an input that never answers (a fifo no one writes to) in a folder of its own. */
  async function withSilentInput(use: (input: string, dir: string) => Promise<void>) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'probe-'));
    try {
      const fifo = path.join(dir, 'never-written');
      await new Promise((resolve, reject) => spawn('mkfifo', [fifo]).once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`mkfifo: ${code}`)))));
      await use(fifo, dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  it('gives up on an input that never answers, and kills ffprobe', () =>
    withSilentInput(async (input) => {
      const started = Date.now();
      await expect(runFfprobe(input, ['-protocol_whitelist', 'file,pipe', '-f', 'mpegts'], { binaries: defaultBinaries, timeLimitMs: 1_000 })).rejects.toMatchObject({ reason: 'timeout' });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await childrenNamed(process.pid, 'ffprobe')).toEqual([]);
    }));

  it('kills ffprobe when its signal aborts, and settles once ffprobe has exited', () =>
    withSilentInput(async (input, dir) => {
      // ffprobe behind a wrapper that notes its pid (exec keeps it); it waits on the input until it is killed.
      const ffprobe = path.join(dir, 'ffprobe');
      await fs.writeFile(ffprobe, `#!/bin/sh\necho $$ > '${dir}/pid'\nexec '${defaultBinaries.ffprobe}' "$@"\n`, { mode: 0o755 });
      const abort = new AbortController();
      const probing = runFfprobe(input, ['-protocol_whitelist', 'file,pipe', '-f', 'mpegts'], { binaries: { ...defaultBinaries, ffprobe }, timeLimitMs: 60_000, signal: abort.signal });
      const pid = Number(await eventually(() => fs.readFile(path.join(dir, 'pid'), 'utf8').catch(() => undefined), 20_000, 'ffprobe to start'));
      abort.abort();
      await expect(probing).rejects.toMatchObject({ reason: 'aborted' });
      // Looked at before anything else can run: not even a zombie waiting to be reaped is left.
      expect(existsSync(`/proc/${pid}`)).toBe(false);
    }));
});

describe('a worker killed with SIGKILL', () => {
  /** Starts a Node process that runs an endless ffmpeg; resolves with both pids once ffmpeg works. */
  async function workerWithFfmpeg(binaries: 'tied' | 'plain') {
    const worker = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(__dirname, 'fixtures', 'endless-ffmpeg.ts'), binaries], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout!.on('data', (chunk) => (output += chunk));
    worker.stderr!.on('data', (chunk) => (output += chunk));
    await eventually(async () => output.includes('running'), 20_000, `the worker's ffmpeg to run: ${output}`);
    const [ffmpeg] = await childrenNamed(worker.pid!, 'ffmpeg');
    expect(ffmpeg).toBeDefined();
    return { worker, ffmpeg: ffmpeg! };
  }

  it('takes its ffmpeg with it', async () => {
    const { worker, ffmpeg } = await workerWithFfmpeg('tied');
    worker.kill('SIGKILL');
    await eventually(async () => !(await isAlive(ffmpeg)), 5_000, 'ffmpeg to die with its worker');
  });

  it('(control) leaves an ffmpeg started without the wrapper running as an orphan', async () => {
    const { worker, ffmpeg } = await workerWithFfmpeg('plain');
    worker.kill('SIGKILL');
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await isAlive(ffmpeg)).toBe(true);
    } finally {
      process.kill(ffmpeg, 'SIGKILL');
    }
  });
});

describe('WorkDirs', () => {
  it('removes the folder of a run however it ends, and sweeps only folders of processes that are gone', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'work-dirs-'));
    try {
      const dirs = new WorkDirs(root);
      let used = '';
      await expect(
        dirs.with('video 1', async (dir) => {
          used = dir;
          await fs.writeFile(path.join(dir, 'segment.m4s'), 'x');
          throw new Error('ffmpeg crashed');
        }),
      ).rejects.toThrow('ffmpeg crashed');
      expect(path.basename(used)).toMatch(new RegExp(`^${process.pid}-video_1-`));
      await expect(fs.access(used)).rejects.toThrow();

      // A dead worker's folder (pid 2^22 + 1 is above Linux's pid_max), a live one's (ours, another run) and a stranger.
      const dead = path.join(root, `${2 ** 22 + 1}-transcode-abc`);
      const live = path.join(root, `${process.pid}-transcode-def`);
      const other = path.join(root, 'not-ours');
      for (const dir of [dead, live, other]) await fs.mkdir(dir);
      expect(await dirs.sweep()).toEqual([path.basename(dead)]);
      expect((await fs.readdir(root)).sort()).toEqual([path.basename(live), 'not-ours'].sort());
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
