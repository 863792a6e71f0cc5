import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Producer } from 'kafkajs';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { createEvent, toKafkaRecord } from '@video-pipeline/events';
import { createKafka, createProducer, topicSpecs } from '@video-pipeline/kafka';
import { HEAD_BYTES, MediaToolkit, ladderCommand, planLadder, type FfmpegJob } from '@video-pipeline/media';
import type { ObjectStorage } from '@video-pipeline/storage';
import { createTopics } from '../test/support/pipeline';
import { withCleanup } from './support/cleanup';
import { benchPrefix, type BenchEnv } from './support/environment';
import { waitFor } from './support/kafka';
import { spawnMediaWorker, type MediaWorkerProcess } from './support/media-worker';
import { childrenNamed, readCpuSecondsWithChildren, readCpuSeconds, readCpuSplit, readMachineBusySeconds, readRssBytes } from './support/proc';
import { measurement, type Benchmark, type BenchmarkOutcome } from './support/report';
import { median, round, toMB } from './support/stats';
import { benchStorage } from './support/uploads';
import type { BenchOptions } from './support/options';

const run = promisify(execFile);
const TARGET_RATIO = 1.1;
/** The preset the transcoder runs with by default (X264_PRESET). */
const PRESET = 'veryfast';

/**
 * The transcoder against bare ffmpeg: the real transcoder service, as its
 * own process, makes the ladder of a 1080p30 source stored in S3 (probe,
 * one decode, every rung, segments stored as they are made, playlists,
 * the master); the baseline runs the very ffmpeg command the transcoder
 * builds, by hand, on the same source from local disk into a local folder.
 * Runs alternate; the verdict is the median of each round's own ratio.
 */
export const transcodeLadder: Benchmark = {
  name: 'transcode-ladder',
  summary: `transcoder worker (probe, encode, uploads) making the HLS ladder of a 1080p30 source, vs the same ffmpeg command to local disk`,
  async run(env, options) {
    return withMediaBench(env, options, 'transcoder', async ({ source, worker, deliver, seconds, storageUrl }) => {
      const rounds: { bare: number; bareFromS3: number; transcoder: number; endToEnd: number; cpu: number; bareCpu: Cpu; ours: Cpu; peakWorkerMB: number; peakFfmpegMB: number }[] = [];
      for (let index = 0; index < options.mediaRounds; index++) {
        env.progress(`transcode-ladder: round ${index + 1}/${options.mediaRounds}: bare ffmpeg`);
        const bare = await bareLadder(source, source.job.input, env);
        // The same command reading the source from S3 as the transcoder does: what reading it remotely costs.
        const bareFromS3 = await bareLadder(source, await storageUrl(), env);
        env.progress(`transcode-ladder: round ${index + 1}/${options.mediaRounds}: the transcoder (pid ${worker.pid})`);
        const ours = await deliver('transcode');
        rounds.push({ bare: bare.seconds, bareFromS3: bareFromS3.seconds, transcoder: ours.stageSeconds, endToEnd: ours.endToEndSeconds, cpu: ours.cpuSeconds, bareCpu: bare.cpu, ours: ours.cpu, peakWorkerMB: ours.peakWorkerMB, peakFfmpegMB: ours.peakFfmpegMB });
        env.progress(`transcode-ladder: bare ${bare.seconds.toFixed(1)} s, transcoder ${ours.stageSeconds.toFixed(1)} s (${(ours.stageSeconds / bare.seconds).toFixed(3)}×)`);
      }
      const ratio = median(rounds.map((each) => each.transcoder / each.bare));
      const minutes = seconds / 60;
      return {
        measurements: [
          measurement('ladder wall time (median)', 's', median(rounds.map((each) => each.transcoder)), median(rounds.map((each) => each.bare))),
          measurement('transcoder ÷ bare ffmpeg (median of rounds)', '×', ratio),
          // On a shared machine wall time follows everyone's load; CPU seconds do not.
          measurement('CPU: transcoder (ffmpeg + Node + s3proxy) ÷ bare ffmpeg (median)', '×', median(rounds.map((each) => (each.ours.ffmpeg + each.ours.node + each.ours.s3proxy) / (each.bareCpu.ffmpeg + each.bareCpu.s3proxy)))),
          measurement('CPU per minute of source (worker + its ffmpeg)', 'CPU s', median(rounds.map((each) => each.cpu)) / minutes),
          measurement('peak RSS, worker (Node)', 'MB', Math.max(...rounds.map((each) => each.peakWorkerMB))),
          measurement('peak RSS, its ffmpeg', 'MB', Math.max(...rounds.map((each) => each.peakFfmpegMB))),
        ],
        target: { description: `transcoder ÷ bare ffmpeg ≤ ${TARGET_RATIO}`, met: ratio <= TARGET_RATIO },
        findings: [
          `source: ${seconds} s of 1080p30 with stereo AAC, ${source.rungs} rungs, x264 ${PRESET}; ${cpuCount()} cores`,
          `rounds (bare → transcoder): ${rounds.map((each) => `${each.bare.toFixed(1)} → ${each.transcoder.toFixed(1)} s (${(each.transcoder / each.bare).toFixed(3)})`).join(', ')}`,
          `publish → stage succeeded (Kafka, commit and the poll included): ${rounds.map((each) => each.endToEnd.toFixed(1)).join(', ')} s`,
          `bare ffmpeg reading the source from S3 (presigned URL) instead of local disk: ${rounds.map((each) => `${each.bareFromS3.toFixed(1)} s (${(each.bareFromS3 / each.bare).toFixed(3)})`).join(', ')}`,
          `machine busy during the rounds (2 cores = 2 CPU s per second; other sessions' work counts): see "machine" below`,
          `CPU s, bare: ${rounds.map((each) => describeCpu(each.bareCpu)).join(' | ')}`,
          `CPU s, transcoder: ${rounds.map((each) => describeCpu(each.ours)).join(' | ')}`,
        ],
        details: { rounds, seconds, preset: PRESET },
      };
    });
  },
};

/**
 * The thumbnailer's cost: CPU seconds per minute of source for a poster
 * set and storyboard, and its peak memory. Figures to watch, no baseline.
 */
export const thumbnailSet: Benchmark = {
  name: 'thumbnail-set',
  summary: 'thumbnailer worker making posters, placeholder and storyboard of a 1080p30 source: CPU per minute of source, peak RSS',
  async run(env, options) {
    return withMediaBench(env, options, 'thumbnailer', async ({ deliver, seconds }) => {
      const rounds = [];
      for (let index = 0; index < options.mediaRounds; index++) {
        env.progress(`thumbnail-set: round ${index + 1}/${options.mediaRounds}`);
        rounds.push(await deliver('thumbnails'));
      }
      const minutes = seconds / 60;
      return {
        measurements: [
          measurement('wall time (median)', 's', median(rounds.map((each) => each.stageSeconds))),
          measurement('CPU per minute of source (worker + its ffmpeg)', 'CPU s', median(rounds.map((each) => each.cpuSeconds)) / minutes),
          measurement('peak RSS, worker (Node, sharp)', 'MB', Math.max(...rounds.map((each) => each.peakWorkerMB))),
          measurement('peak RSS, its ffmpeg', 'MB', Math.max(...rounds.map((each) => each.peakFfmpegMB))),
        ],
        target: { description: 'figures to watch (no target)', met: true },
        findings: [`source: ${seconds} s of 1080p30; ${cpuCount()} cores`],
        details: { rounds, seconds },
      };
    });
  },
};

/** CPU seconds over one run: ffmpeg, the worker's Node, s3proxy, and the whole machine (everyone's work, other sessions' too). */
interface Cpu {
  ffmpeg: number;
  node: number;
  s3proxy: number;
  machine: number;
}

const describeCpu = (cpu: Cpu) => `ffmpeg ${cpu.ffmpeg.toFixed(1)}, node ${cpu.node.toFixed(1)}, s3proxy ${cpu.s3proxy.toFixed(1)}, machine ${cpu.machine.toFixed(1)}`;

class CpuWatch {
  private readonly start: { split: { own: number; children: number }; s3proxy: number; machine: number };
  constructor(
    private readonly pid: number,
    private readonly s3proxyPid: number | undefined,
  ) {
    this.start = { split: readCpuSplit(pid), s3proxy: this.s3proxyPid ? readCpuSeconds(this.s3proxyPid) : 0, machine: readMachineBusySeconds() };
  }

  /** `ffmpeg` is the children's time: ffmpeg is the only child that exits meanwhile. */
  stop(): Cpu {
    const split = readCpuSplit(this.pid);
    return {
      ffmpeg: split.children - this.start.split.children,
      node: split.own - this.start.split.own,
      s3proxy: (this.s3proxyPid ? readCpuSeconds(this.s3proxyPid) : 0) - this.start.s3proxy,
      machine: readMachineBusySeconds() - this.start.machine,
    };
  }
}

export interface Source {
  file: string;
  job: FfmpegJob;
  rungs: number;
}

interface Delivery {
  /** The stage's own start to finish, as the worker recorded it: probe, ffmpeg, uploads. */
  stageSeconds: number;
  endToEndSeconds: number;
  cpuSeconds: number;
  cpu: Cpu;
  peakWorkerMB: number;
  peakFfmpegMB: number;
}

interface MediaBench {
  source: Source;
  worker: MediaWorkerProcess;
  seconds: number;
  /** Publishes a fresh upload of the source and waits for the stage to succeed, measuring the worker meanwhile. */
  deliver(stage: 'transcode' | 'thumbnails'): Promise<Delivery>;
  /** A presigned URL of the stored source. */
  storageUrl(): Promise<string>;
}

async function withMediaBench(env: BenchEnv, options: BenchOptions, group: 'transcoder' | 'thumbnailer', work: (bench: MediaBench) => Promise<BenchmarkOutcome>): Promise<BenchmarkOutcome> {
  const seconds = options.mediaSeconds;
  env.progress(`${group}: preparing a ${seconds} s 1080p30 source`);
  const file = await makeSource(env.mediaDir, seconds);
  return withCleanup(async (cleanup) => {
    const prefix = benchPrefix(group);
    const bucket = `bench-${group}`;
    const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), `bench-${group}-`));
    cleanup.defer('remove the work folder', () => fs.rm(tempDir, { recursive: true, force: true }));
    const storage = await benchStorage(env, bucket);
    const kafka = createKafka(env.config(prefix).kafka, env.logger);
    await createTopics(kafka, prefix, topicSpecs);
    const producer = createProducer(kafka);
    await producer.connect();
    cleanup.defer('disconnect the producer', () => producer.disconnect());
    const prisma = createPrismaClient({ databaseUrl: env.databaseUrl });
    cleanup.defer('disconnect from the database', () => prisma.$disconnect());
    const sourceKey = `bench/${randomUUID()}/original`;
    await storage.uploadVideo(sourceKey, createReadStream(file), { maxBytes: 10 * 1024 ** 3 });
    cleanup.defer('remove stored objects', () => storage.deletePrefix(''));

    const worker = await spawnMediaWorker(env, { group, prefix, bucket, tempDir });
    cleanup.defer(`stop the ${group}`, () => worker.stop());
    return work({
      source: await bareSource(file, env),
      worker,
      seconds,
      deliver: async (stage) => deliver({ stage, storage, sourceKey, sizeBytes: (await fs.stat(file)).size, prisma, producer, prefix, worker, s3proxyPid: env.stack.s3.pid }),
      storageUrl: () => storage.presignedGetUrl(sourceKey, 3600),
    });
  });
}

async function deliver(ctx: { stage: 'transcode' | 'thumbnails'; storage: ObjectStorage; sourceKey: string; sizeBytes: number; prisma: PrismaClient; producer: Producer; prefix: string; worker: MediaWorkerProcess; s3proxyPid: number | undefined }): Promise<Delivery> {
  const videoId = randomUUID();
  const object = { bucket: ctx.storage.bucket, key: ctx.sourceKey, sizeBytes: ctx.sizeBytes, sha256: '0'.repeat(64), contentType: 'video/mp4' };
  const now = new Date();
  await ctx.prisma.video.create({ data: { id: videoId, ownerId: 'bench', title: 'bench', bucket: object.bucket, objectKey: object.key, sizeBytes: BigInt(object.sizeBytes), sha256: object.sha256, contentType: object.contentType, createdAt: now } });
  const event = createEvent('video.uploaded', { source: '/video-pipeline/bench', subject: videoId, data: { schemaVersion: 1, videoId, ownerId: 'bench', title: 'bench', object, uploadedAt: now.toISOString() } });

  const cpuBefore = readCpuSecondsWithChildren(ctx.worker.pid);
  const watch = new CpuWatch(ctx.worker.pid, ctx.s3proxyPid);
  let peakWorker = 0;
  let peakFfmpeg = 0;
  const sampler = setInterval(() => {
    try {
      peakWorker = Math.max(peakWorker, readRssBytes(ctx.worker.pid));
      for (const pid of childrenNamed(ctx.worker.pid, 'ffmpeg')) peakFfmpeg = Math.max(peakFfmpeg, readRssBytes(pid));
    } catch {
      // an ffmpeg that exited between listing and reading
    }
  }, 100);
  const started = performance.now();
  try {
    await ctx.producer.send({ topic: `${ctx.prefix}video.uploaded`, acks: -1, messages: [toKafkaRecord(event, ctx.prefix)] });
    let row: Awaited<ReturnType<PrismaClient['videoStage']['findUnique']>> = null;
    await waitFor(
      async () => {
        row = await ctx.prisma.videoStage.findUnique({ where: { videoId_stage: { videoId, stage: ctx.stage } } });
        if (row?.status === 'failed') throw new Error(`the ${ctx.stage} failed: ${row.errorCode} ${row.errorMessage}`);
        return row?.status === 'succeeded';
      },
      { timeoutMs: 30 * 60_000, intervalMs: 100, what: `the ${ctx.stage} of ${videoId}` },
    );
    const done = row!;
    return {
      stageSeconds: (done.finishedAt!.getTime() - done.startedAt!.getTime()) / 1000,
      endToEndSeconds: (performance.now() - started) / 1000,
      cpuSeconds: readCpuSecondsWithChildren(ctx.worker.pid) - cpuBefore,
      cpu: watch.stop(),
      peakWorkerMB: round(toMB(peakWorker), 1),
      peakFfmpegMB: round(toMB(peakFfmpeg), 1),
    };
  } finally {
    clearInterval(sampler);
  }
}

/** The transcoder's own ffmpeg command for the source, pointed at the local file. */
export async function bareSource(file: string, env: BenchEnv): Promise<Source> {
  const media = new MediaToolkit({ limits: { maxSide: 4096, maxDurationSeconds: 4 * 3600, maxFps: 120 }, timeLimitMs: 60_000, threads: 0, x264Preset: PRESET, tempDir: os.tmpdir() });
  const handle = await fs.open(file);
  const head = Buffer.alloc(HEAD_BYTES);
  await handle.read(head, 0, HEAD_BYTES, 0);
  await handle.close();
  const opened = await media.open(file, head);
  const rungs = planLadder(opened.info.video);
  env.progress(`source: ${JSON.stringify(opened.info)}`);
  return { file, rungs: rungs.length, job: ladderCommand({ input: file, inputOptions: opened.inputOptions, source: opened.info, rungs, x264Preset: PRESET, threads: 0 }) };
}

/** Runs the command with plain ffmpeg (reading `input`) into a fresh local folder; its wall time and CPU. */
export async function bareLadder(source: Source, input: string, env: BenchEnv): Promise<{ seconds: number; cpu: Cpu }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-bare-ladder-'));
  try {
    const { job } = source;
    const remote = input !== job.input;
    const inputOptions = remote ? job.inputOptions.map((option) => (option === 'file' ? 'http,tcp' : option)) : job.inputOptions;
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...inputOptions, '-i', input, '-y', ...(job.filterGraph ? ['-filter_complex', job.filterGraph] : []), ...job.outputs.flatMap((output) => [...output.options, output.target])];
    const watch = new CpuWatch(process.pid, env.stack.s3.pid);
    const started = performance.now();
    await run('ffmpeg', args, { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    return { seconds: (performance.now() - started) / 1000, cpu: watch.stop() };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A 1080p30 test pattern with a tone, made once per length in the bench's media folder. */
export async function makeSource(dir: string, seconds: number): Promise<string> {
  const file = path.join(dir, `ladder-source-1080p30-${seconds}s.mp4`);
  if (await fs.stat(file).catch(() => undefined)) return file;
  await fs.mkdir(dir, { recursive: true });
  const partial = `${file}.partial.mp4`;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '20', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', partial,
  ]);
  await fs.rename(partial, file);
  return file;
}

const cpuCount = () => os.cpus().length;
