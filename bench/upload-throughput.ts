import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { Upload } from '@aws-sdk/lib-storage';
import { PART_QUEUE_SIZE, PART_SIZE_BYTES, type ObjectStorage } from '@video-pipeline/storage';
import { checkoutAt } from './support/api-checkout';
import { withCleanup } from './support/cleanup';
import { makeLargeVideo } from './support/media';
import { FILE_READ_CHUNK_BYTES, uploadClient } from './support/multipart-upload';
import { CpuMeter } from './support/proc';
import { measurement, type Benchmark } from './support/report';
import { MiB, median, round, toMB } from './support/stats';
import { spawnUploadApi } from './support/upload-api-process';
import { benchStorage, removeUploads, uploadThroughApi } from './support/uploads';

const TARGET_RATIO = 0.9;
/** With --compare-api: the API now against the API at that commit. */
const COMPARE_TARGET_RATIO = 0.95;
const WARMUP_BYTES = 24 * MiB;

/** `before`: the upload API at the --compare-api commit, when given. */
type Path = 'api' | 'baseline' | 'before';

/** Processes whose CPU is measured; `self` is the bench (the client on the API path, the uploader on the baseline). */
type CpuLabel = 'self' | 'api' | 's3proxy' | 'machine';

interface Run {
  path: Path;
  /** The round (one run of each path) this run belongs to. */
  round: number;
  order: number;
  elapsedMs: number;
  mbPerSecond: number;
  /** CPU seconds per GB uploaded, per process; `machine` is everything running, other work included. */
  cpuSecondsPerGB: Partial<Record<CpuLabel, number>>;
  /** Cores the whole machine kept busy on average during the run. */
  machineBusyCores: number;
}

/**
 * The same file uploaded through the API (a separate process: multipart
 * parsing, sniffing, hashing, lib-storage) and straight to s3proxy with
 * lib-storage's Upload at the API's part size and queue size, alternating
 * (B A A B B A ...) so drift on a shared machine hits both paths alike.
 * With --compare-api, the API of that commit runs as a third path in each
 * round, so that a change to the API is judged in the same run.
 */
export const uploadThroughput: Benchmark = {
  name: 'upload-throughput',
  summary: 'upload MB/s through the API vs a plain lib-storage Upload of the same file to the same s3proxy',
  async run(env, options) {
    const sizeBytes = options.throughputMib * MiB;
    const bucket = 'bench-throughput';
    env.progress(`upload-throughput: preparing a ${options.throughputMib} MiB input`);
    const [file, warmupFile] = await Promise.all([makeLargeVideo(env.mediaDir, sizeBytes), makeLargeVideo(env.mediaDir, WARMUP_BYTES)]);

    return withCleanup(async (cleanup) => {
      const storage = await benchStorage(env, bucket);
      const api = await spawnUploadApi(env, { name: 'throughput', bucket, maxUploadBytes: sizeBytes + 64 * MiB });
      cleanup.defer('stop the upload API', () => api.stop());
      const compared = options.compareApi ? await checkoutAt(options.compareApi, env.progress) : undefined;
      const before = compared ? await spawnUploadApi(env, { name: `throughput-${compared.commit.slice(0, 7)}`, bucket, maxUploadBytes: sizeBytes + 64 * MiB, root: compared.root }) : undefined;
      if (before) cleanup.defer('stop the compared upload API', () => before.stop());
      const s3proxyPid = env.stack.s3.pid;
      if (s3proxyPid === undefined) throw new Error('s3proxy is not running');

      const uploadOnce = async (path: Path, input: string, bytes: number): Promise<number> => {
        if (path === 'baseline') return uploadDirect(storage, input);
        const video = await uploadThroughApi(path === 'before' ? before! : api, input, bytes);
        await removeUploads(env, storage, [video]);
        return video.elapsedMs;
      };

      const paths: Path[] = before ? ['baseline', 'api', 'before'] : ['baseline', 'api'];
      for (const path of paths) await uploadOnce(path, warmupFile, WARMUP_BYTES);

      const runs: Run[] = [];
      const order = alternatingOrder(options.throughputRuns, paths);
      for (const [index, { path, round: roundIndex }] of order.entries()) {
        env.progress(`upload-throughput: run ${index + 1}/${order.length} (${path}, ${options.throughputMib} MiB)`);
        const cpu = new CpuMeter({ api: (path === 'before' ? before! : api).pid, s3proxy: s3proxyPid });
        const elapsedMs = await uploadOnce(path, file, sizeBytes);
        const usage = cpu.stop();
        const perGB = (label: CpuLabel) => round(usage[label]!.cpuSeconds / (sizeBytes / 1e9));
        runs.push({
          path,
          round: roundIndex,
          order: index,
          elapsedMs: round(elapsedMs),
          mbPerSecond: round(toMB(sizeBytes) / (elapsedMs / 1000)),
          cpuSecondsPerGB: { self: perGB('self'), ...(path !== 'baseline' && { api: perGB('api') }), s3proxy: perGB('s3proxy'), machine: perGB('machine') },
          machineBusyCores: round(usage.machine!.cores),
        });
      }

      const medianOf = (path: Path, pick: (run: Run) => number) => median(runs.filter((run) => run.path === path).map(pick));
      const apiRate = medianOf('api', (run) => run.mbPerSecond);
      const baselineRate = medianOf('baseline', (run) => run.mbPerSecond);
      const ratio = apiRate / baselineRate;
      const cpu = (path: Path, label: CpuLabel) => medianOf(path, (run) => run.cpuSecondsPerGB[label] ?? 0);
      const pipelineCpu = (path: Path) => medianOf(path, (run) => (run.cpuSecondsPerGB.self ?? 0) + (run.cpuSecondsPerGB.api ?? 0) + (run.cpuSecondsPerGB.s3proxy ?? 0));
      const busy = median(runs.map((run) => run.machineBusyCores));
      const comparison = compared && compareWith(compared.commit.slice(0, 7), runs, apiRate, medianOf('before', (run) => run.mbPerSecond), cpu('api', 'api'), cpu('before', 'api'));
      return {
        measurements: [
          measurement(`throughput, median of ${options.throughputRuns} (${options.throughputMib} MiB)`, 'MB/s', apiRate, baselineRate),
          measurement(`CPU: bench process (API: ${uploadClient === 'curl' ? 'idle, curl uploads' : 'client'}; baseline: uploader)`, 's/GB', cpu('api', 'self'), cpu('baseline', 'self')),
          measurement('CPU: upload API process', 's/GB', cpu('api', 'api')),
          measurement('CPU: s3proxy', 's/GB', cpu('api', 's3proxy'), cpu('baseline', 's3proxy')),
          measurement('CPU: the three together', 's/GB', pipelineCpu('api'), pipelineCpu('baseline')),
          measurement('CPU: whole machine (other work included)', 's/GB', cpu('api', 'machine'), cpu('baseline', 'machine')),
          ...(comparison?.measurements ?? []),
        ],
        target: comparison
          ? { description: `API/baseline ≥ ${TARGET_RATIO}, and API/API at ${comparison.name} ≥ ${COMPARE_TARGET_RATIO} (rounds' own ratios, median)`, met: ratio >= TARGET_RATIO && comparison.roundsRatio >= COMPARE_TARGET_RATIO }
          : { description: `API/baseline ≥ ${TARGET_RATIO}`, met: ratio >= TARGET_RATIO },
        findings: [
          ...(comparison?.findings ?? []),
          `runs in order: ${runs.map((run) => `${run.path} ${run.mbPerSecond.toFixed(0)}`).join(', ')} MB/s`,
          `the machine kept ${busy.toFixed(2)} of its ${os.cpus().length} cores busy during the runs (median); when that is near ${os.cpus().length}, throughput follows CPU per byte, and the API path's pipeline needs ${(pipelineCpu('api') / pipelineCpu('baseline')).toFixed(2)}× the baseline's CPU per GB (an extra process and an extra socket hop for the same bytes)`,
          `API path client: ${uploadClient}${uploadClient === 'curl' ? ' (its CPU shows only in the whole-machine row)' : ''}`,
          `both paths: part size ${PART_SIZE_BYTES / MiB} MiB, queue size ${PART_QUEUE_SIZE}, file read in ${FILE_READ_CHUNK_BYTES / MiB} MiB chunks`,
        ],
        details: { uploadBytes: sizeBytes, partSizeBytes: PART_SIZE_BYTES, partQueueSize: PART_QUEUE_SIZE, runs },
      };
    });
  },
};

/**
 * One run of each path per round, each round in the opposite order of the
 * last (B A, A B, ...), which cancels linear drift; with three paths the
 * order also rotates every two rounds, so that none always runs in the middle.
 */
function alternatingOrder(rounds: number, paths: readonly Path[]): { path: Path; round: number }[] {
  const order: { path: Path; round: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const shift = Math.floor(round / 2) % paths.length;
    const rotated = [...paths.slice(shift), ...paths.slice(0, shift)];
    for (const path of round % 2 === 0 ? rotated : rotated.reverse()) order.push({ path, round });
  }
  return order;
}

/** The API against the API of another commit: medians, and each round's own ratio (the machine drifts between rounds). */
function compareWith(name: string, runs: readonly Run[], apiRate: number, beforeRate: number, apiCpu: number, beforeCpu: number) {
  const rate = (path: Path, round: number) => runs.find((run) => run.path === path && run.round === round)!.mbPerSecond;
  const rounds = [...new Set(runs.map((run) => run.round))].map((round) => rate('api', round) / rate('before', round));
  const roundsRatio = median(rounds);
  return {
    name,
    roundsRatio,
    measurements: [
      measurement(`throughput, API now vs API at ${name}, medians`, 'MB/s', apiRate, beforeRate),
      measurement(`CPU: upload API process, now vs at ${name}`, 's/GB', apiCpu, beforeCpu),
    ],
    findings: [`API now ÷ API at ${name}, each round's own ratio: ${rounds.map((each) => each.toFixed(3)).join(', ')} (median ${roundsRatio.toFixed(3)})`],
  };
}

/** lib-storage's Upload straight from disk, configured as ObjectStorage.uploadVideo configures it; returns ms. */
async function uploadDirect(storage: ObjectStorage, file: string): Promise<number> {
  const key = `baseline/${randomUUID()}`;
  const started = performance.now();
  const upload = new Upload({
    client: storage.client,
    params: { Bucket: storage.bucket, Key: key, Body: fs.createReadStream(file, { highWaterMark: FILE_READ_CHUNK_BYTES }), ContentType: 'application/octet-stream' },
    partSize: PART_SIZE_BYTES,
    queueSize: PART_QUEUE_SIZE,
    leavePartsOnError: false,
  });
  await upload.done();
  const elapsedMs = performance.now() - started;
  await storage.deleteObject(key);
  return elapsedMs;
}
