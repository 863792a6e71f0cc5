import { PART_QUEUE_SIZE, PART_SIZE_BYTES } from '@video-pipeline/storage';
import { checkoutAt } from './support/api-checkout';
import { withCleanup } from './support/cleanup';
import { makeLargeVideo } from './support/media';
import { RssSampler, type RssSample } from './support/proc';
import { measurement, type Benchmark } from './support/report';
import { MiB, round, toMB } from './support/stats';
import { spawnUploadApi, type UploadApiProcess } from './support/upload-api-process';
import { benchStorage, removeUploads, uploadThroughApi, type UploadedVideo } from './support/uploads';

/** Issue 22: a 1 GiB upload should grow the API by little more than the parts in flight (was < 100 MB before it). */
const TARGET_GROWTH_MB = 64;
const SAMPLE_INTERVAL_MS = 50;
/** Idle windows before and after the upload. */
const SETTLE_MS = 1_000;
/**
 * A first, small upload (a single PUT, below one part) before the baseline:
 * it pays for what the first request initialises lazily (database client
 * and pool, S3 client, multipart parser), about 130 MB that has nothing to
 * do with upload size, while allocating none of the multipart buffers the
 * big upload is measured for.
 */
const WARMUP_BYTES = 1 * MiB;

/**
 * Memory of the upload API while a large file streams through it: the API
 * runs as its own process and its RSS is read from /proc every 50 ms. The
 * baseline is the same process at rest right before the upload, after one
 * small warm-up upload (see WARMUP_BYTES); the figure is peak RSS during
 * the upload minus it. With --compare-api, the API of that commit is then
 * measured the same way, in a process of its own, in the same run.
 */
export const uploadMemory: Benchmark = {
  name: 'upload-memory',
  summary: 'upload API process RSS during one large streamed multipart upload, vs the same process at rest just before',
  async run(env, options) {
    const sizeBytes = options.uploadMib * MiB;
    const bucket = 'bench-memory';
    env.progress(`upload-memory: preparing a ${options.uploadMib} MiB input`);
    const [file, warmupFile] = await Promise.all([makeLargeVideo(env.mediaDir, sizeBytes), makeLargeVideo(env.mediaDir, WARMUP_BYTES)]);

    return withCleanup(async (cleanup) => {
      const storage = await benchStorage(env, bucket);
      const uploaded: UploadedVideo[] = [];
      cleanup.defer('remove uploaded objects and rows', () => removeUploads(env, storage, uploaded));
      /** Cold, warmed up, during the big upload, and after it, for one API process. */
      const measure = async (api: UploadApiProcess, name: string) => {
        const cold = await sampleWhileIdle(api.pid);
        uploaded.push(await uploadThroughApi(api, warmupFile, WARMUP_BYTES));
        const atRest = await sampleWhileIdle(api.pid);
        env.progress(`upload-memory: uploading ${options.uploadMib} MiB through the API${name} (pid ${api.pid})`);
        const sampler = new RssSampler(api.pid, SAMPLE_INTERVAL_MS).start();
        const video = await uploadThroughApi(api, file, sizeBytes).finally(() => sampler.stop());
        uploaded.push(video);
        const after = await sampleWhileIdle(api.pid);
        return { cold, atRest, sampler, video, after };
      };

      const api = await spawnUploadApi(env, { name: 'memory', bucket, maxUploadBytes: sizeBytes + 64 * MiB });
      cleanup.defer('stop the upload API', () => api.stop());
      const { cold, atRest, sampler, video, after } = await measure(api, '');
      await api.stop();

      let comparison: { name: string; growthMB: number; rest: string } | undefined;
      if (options.compareApi) {
        const compared = await checkoutAt(options.compareApi, env.progress);
        const name = compared.commit.slice(0, 7);
        const before = await spawnUploadApi(env, { name: `memory-${name}`, bucket, maxUploadBytes: sizeBytes + 64 * MiB, root: compared.root });
        cleanup.defer('stop the compared upload API', () => before.stop());
        const then = await measure(before, ` at ${name}`);
        comparison = {
          name,
          growthMB: toMB(then.sampler.peakBytes - then.atRest.meanBytes),
          rest: `the API at ${name}: RSS freshly started ${toMB(then.cold.meanBytes).toFixed(0)} MB, after the warm-up ${toMB(then.atRest.meanBytes).toFixed(0)} MB, peak ${toMB(then.sampler.peakBytes).toFixed(0)} MB`,
        };
      }

      const baselineBytes = atRest.meanBytes;
      const growthMB = toMB(sampler.peakBytes - baselineBytes);
      const peakAtMs = sampler.samples.find((sample) => sample.rssBytes === sampler.peakBytes)!.atMs;
      const findings = [
        `${sampler.samples.length} samples over ${(video.elapsedMs / 1000).toFixed(1)} s (${(toMB(sizeBytes) / (video.elapsedMs / 1000)).toFixed(0)} MB/s); peak at ${(peakAtMs / 1000).toFixed(1)} s`,
        `RSS at rest: freshly started ${toMB(cold.meanBytes).toFixed(0)} MB, after a ${WARMUP_BYTES / MiB} MiB warm-up upload ${toMB(baselineBytes).toFixed(0)} MB (the baseline), 1 s after the big upload ${toMB(after.meanBytes).toFixed(0)} MB`,
        `the API holds (queue ${PART_QUEUE_SIZE} + 1) × part ${PART_SIZE_BYTES / MiB} MiB = ${toMB((PART_QUEUE_SIZE + 1) * PART_SIZE_BYTES).toFixed(0)} MB of part buffers, reused; the rest is request-body chunks until V8 collects them`,
        `peak over the freshly started process: ${toMB(sampler.peakBytes - cold.meanBytes).toFixed(0)} MB, of which ${toMB(baselineBytes - cold.meanBytes).toFixed(0)} MB is the first request's one-off loading (the warm-up), independent of upload size`,
        ...(comparison ? [comparison.rest] : []),
      ];
      return {
        measurements: [
          measurement(`peak RSS growth (${options.uploadMib} MiB upload)`, 'MB', growthMB),
          measurement('peak RSS during upload', 'MB', toMB(sampler.peakBytes), toMB(baselineBytes)),
          ...(comparison ? [measurement(`peak RSS growth, API now vs API at ${comparison.name}`, 'MB', growthMB, comparison.growthMB)] : []),
        ],
        target: { description: `peak RSS growth < ${TARGET_GROWTH_MB} MB`, met: growthMB < TARGET_GROWTH_MB },
        findings,
        details: {
          uploadBytes: sizeBytes,
          elapsedMs: round(video.elapsedMs),
          rssColdMB: round(toMB(cold.meanBytes)),
          rssAtRestMB: round(toMB(baselineBytes)),
          rssPeakMB: round(toMB(sampler.peakBytes)),
          rssAfterMB: round(toMB(after.meanBytes)),
          growthMB: round(growthMB),
          ...(comparison && { compared: { commit: comparison.name, growthMB: round(comparison.growthMB) } }),
          /** RSS every ~500 ms (the maximum of each window), for a plot. */
          timeline: downsample(sampler.samples, 500),
        },
      };
    });
  },
};

async function sampleWhileIdle(pid: number): Promise<RssSampler> {
  const sampler = new RssSampler(pid, SAMPLE_INTERVAL_MS).start();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  sampler.stop();
  return sampler;
}

function downsample(samples: readonly RssSample[], windowMs: number): { atMs: number; rssMB: number }[] {
  const windows = new Map<number, number>();
  for (const sample of samples) {
    const window = Math.floor(sample.atMs / windowMs) * windowMs;
    windows.set(window, Math.max(windows.get(window) ?? 0, sample.rssBytes));
  }
  return [...windows].map(([atMs, rssBytes]) => ({ atMs, rssMB: round(toMB(rssBytes), 1) }));
}
