import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import * as tus from 'tus-js-client';
import type { ObjectStorage } from '@video-pipeline/storage';
import { withCleanup } from './support/cleanup';
import { makeLargeVideo } from './support/media';
import { FILE_READ_CHUNK_BYTES } from './support/multipart-upload';
import { RssSampler } from './support/proc';
import { measurement, type Benchmark } from './support/report';
import { MiB, round, toMB } from './support/stats';
import { BENCH_API_KEY, spawnUploadApi, type UploadApiProcess } from './support/upload-api-process';
import { benchStorage, removeUploads, uploadTimeoutMs, type UploadedVideo } from './support/uploads';

const TUS_TARGET_RATIO = 0.85;
const TUS_TARGET_GROWTH_MB = 64;
const DIRECT_TARGET_RATIO = 0.9;
/** Parts sent at once by the direct upload client, and lib-storage's queueSize on the baseline. */
const DIRECT_PARALLEL_PARTS = 4;
/** The API's default direct part size (DEFAULT_DIRECT_PART_BYTES), named so both paths use it. */
const DIRECT_PART_BYTES = 8 * MiB;
/** A small upload on each path first: the API's lazy start-up and the SDK's first connection are not measured. */
const WARMUP_BYTES = 1 * MiB;
const SAMPLE_INTERVAL_MS = 50;
const SETTLE_MS = 1_000;

/**
 * A large tus upload through the API (its own process, RSS sampled every
 * 50 ms) with tus-js-client from this process, against a plain lib-storage
 * Upload of the same file to the same s3proxy (lib-storage's defaults: what
 * a user would write), in the same run: baseline first, then tus.
 */
export const uploadTus: Benchmark = {
  name: 'upload-tus',
  summary: 'a large tus upload (tus-js-client, Node) through the API: its peak RSS growth, and MB/s vs a plain lib-storage Upload of the same file',
  async run(env, options) {
    const sizeBytes = options.tusMib * MiB;
    const bucket = 'bench-tus';
    env.progress(`upload-tus: preparing a ${options.tusMib} MiB input`);
    const [file, warmupFile] = await Promise.all([makeLargeVideo(env.mediaDir, sizeBytes), makeLargeVideo(env.mediaDir, WARMUP_BYTES)]);
    return withCleanup(async (cleanup) => {
      const storage = await benchStorage(env, bucket);
      const uploaded: UploadedVideo[] = [];
      cleanup.defer('remove uploaded objects and rows', () => removeUploads(env, storage, uploaded));
      const api = await spawnUploadApi(env, { name: 'tus', bucket, maxUploadBytes: sizeBytes + 64 * MiB });
      cleanup.defer('stop the upload API', () => api.stop());

      await libStorageUpload(storage, warmupFile, {});
      uploaded.push(await tusUpload(api, warmupFile, WARMUP_BYTES, options.tusChunkMib * MiB));
      const atRest = await sampleWhileIdle(api.pid);

      env.progress(`upload-tus: baseline, lib-storage, ${options.tusMib} MiB`);
      const baselineMs = await libStorageUpload(storage, file, {});
      env.progress(`upload-tus: tus through the API (pid ${api.pid}), ${options.tusMib} MiB`);
      const sampler = new RssSampler(api.pid, SAMPLE_INTERVAL_MS).start();
      const video = await tusUpload(api, file, sizeBytes, options.tusChunkMib * MiB).finally(() => sampler.stop());
      uploaded.push(video);

      const rate = (ms: number) => toMB(sizeBytes) / (ms / 1000);
      const ratio = rate(video.elapsedMs) / rate(baselineMs);
      const growthMB = toMB(sampler.peakBytes - atRest.meanBytes);
      // Until the client has sent its last byte the API is storing parts; after it, the final answer waits for the completion
      // (which reads the object back only when the API did not store every byte itself).
      const peakGrowthMB = (inCompletion: boolean) =>
        toMB(Math.max(...sampler.samples.filter((sample) => sample.atMs > video.lastByteSentMs === inCompletion).map((sample) => sample.rssBytes)) - atRest.meanBytes);
      return {
        measurements: [
          measurement(`throughput, tus vs lib-storage (${options.tusMib} MiB)`, 'MB/s', rate(video.elapsedMs), rate(baselineMs)),
          measurement(`API peak RSS growth during the tus upload`, 'MB', growthMB),
          measurement(`API peak RSS growth while the PATCHes' bytes arrive`, 'MB', peakGrowthMB(false)),
          measurement(`API peak RSS growth after the last byte (the completion)`, 'MB', peakGrowthMB(true)),
          measurement('API peak RSS during the tus upload', 'MB', toMB(sampler.peakBytes), toMB(atRest.meanBytes)),
        ],
        target: {
          description: `tus/lib-storage ≥ ${TUS_TARGET_RATIO} and API peak RSS growth < ${TUS_TARGET_GROWTH_MB} MB`,
          met: ratio >= TUS_TARGET_RATIO && growthMB < TUS_TARGET_GROWTH_MB,
        },
        findings: [
          `one run per path, baseline first; tus-js-client PATCHes of ${options.tusChunkMib} MiB read from disk; lib-storage at its defaults (5 MiB parts, queue 4)`,
          `PATCHes retried after a failure (counted in the time): ${video.retries.length}${video.retries.length ? ` (the first: ${video.retries[0]}; all in latest.json)` : ''}`,
          `the last byte was sent ${(video.lastByteSentMs / 1000).toFixed(1)} s in; the final answer (the last part stored, CompleteMultipartUpload, the transaction) came ${((video.elapsedMs - video.lastByteSentMs) / 1000).toFixed(1)} s later`,
          `API RSS after a ${WARMUP_BYTES / MiB} MiB warm-up tus upload ${toMB(atRest.meanBytes).toFixed(0)} MB (the baseline); ${sampler.samples.length} samples`,
        ],
        details: { uploadBytes: sizeBytes, tusMs: round(video.elapsedMs), baselineMs: round(baselineMs), growthMB: round(growthMB), rssAtRestMB: round(toMB(atRest.meanBytes)), rssPeakMB: round(toMB(sampler.peakBytes)), lastByteSentMs: round(video.lastByteSentMs), retries: video.retries },
      };
    });
  },
};

/**
 * A direct upload (POST /v1/uploads/direct, PUT of the parts to s3proxy
 * with the presigned URLs, DIRECT_PARALLEL_PARTS at a time, completion)
 * against lib-storage with the same part size and queueSize 4; two rounds,
 * the second in the opposite order.
 */
export const uploadDirectParts: Benchmark = {
  name: 'upload-direct',
  summary: `a direct upload, ${DIRECT_PARALLEL_PARTS} parts in parallel to presigned URLs, vs lib-storage with queueSize ${DIRECT_PARALLEL_PARTS}, same part size`,
  async run(env, options) {
    const sizeBytes = options.directMib * MiB;
    const bucket = 'bench-direct';
    env.progress(`upload-direct: preparing a ${options.directMib} MiB input`);
    const [file, warmupFile] = await Promise.all([makeLargeVideo(env.mediaDir, sizeBytes), makeLargeVideo(env.mediaDir, WARMUP_BYTES)]);
    return withCleanup(async (cleanup) => {
      const storage = await benchStorage(env, bucket);
      const uploaded: UploadedVideo[] = [];
      cleanup.defer('remove uploaded objects and rows', () => removeUploads(env, storage, uploaded));
      const api = await spawnUploadApi(env, { name: 'direct', bucket, maxUploadBytes: sizeBytes + 64 * MiB });
      cleanup.defer('stop the upload API', () => api.stop());
      const baselineSettings = { partSize: DIRECT_PART_BYTES, queueSize: DIRECT_PARALLEL_PARTS };

      await libStorageUpload(storage, warmupFile, baselineSettings);
      uploaded.push(await directUpload(api, warmupFile, WARMUP_BYTES));

      const runs: { path: 'direct' | 'baseline'; ms: number; completionMs?: number }[] = [];
      for (const path of ['baseline', 'direct', 'direct', 'baseline'] as const) {
        env.progress(`upload-direct: ${path}, ${options.directMib} MiB`);
        if (path === 'baseline') runs.push({ path, ms: await libStorageUpload(storage, file, baselineSettings) });
        else {
          const video = await directUpload(api, file, sizeBytes);
          uploaded.push(video);
          runs.push({ path, ms: video.elapsedMs, completionMs: video.completionMs });
        }
      }
      const rate = (ms: number) => toMB(sizeBytes) / (ms / 1000);
      const mean = (path: 'direct' | 'baseline') => {
        const rates = runs.filter((run) => run.path === path).map((run) => rate(run.ms));
        return rates.reduce((sum, each) => sum + each, 0) / rates.length;
      };
      const ratio = mean('direct') / mean('baseline');
      return {
        measurements: [measurement(`throughput, direct vs lib-storage, mean of 2 (${options.directMib} MiB)`, 'MB/s', mean('direct'), mean('baseline'))],
        target: { description: `direct/lib-storage ≥ ${DIRECT_TARGET_RATIO}`, met: ratio >= DIRECT_TARGET_RATIO },
        findings: [
          `runs in order: ${runs.map((run) => `${run.path} ${rate(run.ms).toFixed(0)}`).join(', ')} MB/s`,
          `the completion call (ListParts, CompleteMultipartUpload, the whole object read back in ranged GETs for the sniff and SHA-256, the transaction) took ${runs
            .filter((run) => run.completionMs !== undefined)
            .map((run) => `${(run.completionMs! / 1000).toFixed(1)} s of ${(run.ms / 1000).toFixed(1)} s`)
            .join(', ')}`,
          `both paths: ${DIRECT_PART_BYTES / MiB} MiB parts, ${DIRECT_PARALLEL_PARTS} in flight; the direct path's time includes the start and the completion (ListParts, read-back for the sniff and SHA-256, the transaction)`,
        ],
        details: { uploadBytes: sizeBytes, partSizeBytes: DIRECT_PART_BYTES, parallelParts: DIRECT_PARALLEL_PARTS, runs: runs.map((run) => ({ ...run, ms: round(run.ms), ...(run.completionMs !== undefined && { completionMs: round(run.completionMs) }) })) },
      };
    });
  },
};

/** lib-storage's Upload straight from disk (its defaults unless given); deletes the object; returns ms. */
async function libStorageUpload(storage: ObjectStorage, file: string, settings: { partSize?: number; queueSize?: number }): Promise<number> {
  const key = `baseline/${randomUUID()}`;
  const started = performance.now();
  await new S3Upload({
    client: storage.client,
    params: { Bucket: storage.bucket, Key: key, Body: fs.createReadStream(file, { highWaterMark: FILE_READ_CHUNK_BYTES }), ContentType: 'application/octet-stream' },
    ...settings,
    leavePartsOnError: false,
  }).done();
  const elapsedMs = performance.now() - started;
  await storage.deleteObject(key);
  return elapsedMs;
}

/** The README's Node example: tus-js-client reading the file as a stream, in PATCHes of `chunkBytes` (the README's: 64 MiB). */
async function tusUpload(api: UploadApiProcess, file: string, sizeBytes: number, chunkBytes: number): Promise<UploadedVideo & { retries: string[]; lastByteSentMs: number }> {
  const retries: string[] = [];
  const started = performance.now();
  let lastByteSentMs = 0;
  const { videoId, uploadUrl } = await new Promise<{ videoId: string; uploadUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tus upload timed out; API log ${api.logFile}`)), uploadTimeoutMs(sizeBytes));
    const upload = new tus.Upload(fs.createReadStream(file, { highWaterMark: FILE_READ_CHUNK_BYTES }), {
      endpoint: `${api.baseUrl}/v1/uploads`,
      headers: { Authorization: `Bearer ${BENCH_API_KEY}` },
      metadata: { title: 'bench' },
      uploadSize: sizeBytes,
      chunkSize: chunkBytes,
      // The README's delays: a PATCH that fails is resumed from the server's offset, as a real client would; each is counted.
      retryDelays: [0, 1000, 3000, 10000],
      // tus-js-client reports progress at most every 100 ms as it writes, and the total only with the answer:
      // its last report before that is when the last bytes were handed to the socket, within 100 ms.
      onProgress: (sent) => {
        if (sent < sizeBytes) lastByteSentMs = performance.now() - started;
      },
      onShouldRetry: (error) => {
        const status = error.originalResponse?.getStatus() ?? 0;
        const retry = status === 0 || status >= 500 || status === 409 || status === 423;
        if (retry) retries.push(error.message.split('\n')[0]!.slice(0, 200));
        return retry;
      },
      onSuccess: ({ lastResponse }) => {
        clearTimeout(timer);
        resolve({ videoId: lastResponse.getHeader('Video-Id') ?? '', uploadUrl: upload.url ?? '' });
      },
      onError: (error) => {
        clearTimeout(timer);
        reject(new Error(`tus upload failed: ${error.message}; API log ${api.logFile}`));
      },
    });
    upload.start();
  });
  const elapsedMs = performance.now() - started;
  if (!videoId) throw new Error(`the last tus answer had no Video-Id; API log ${api.logFile}`);
  // Whatever the retries did, the recorded video must hold exactly the file's bytes.
  const answer = await fetch(`${api.baseUrl}/v1/videos/${videoId}`, { headers: { authorization: `Bearer ${BENCH_API_KEY}` } });
  const video = (await answer.json()) as { object?: { key: string; sizeBytes: number } };
  if (answer.status !== 200 || video.object?.sizeBytes !== sizeBytes) throw new Error(`the tus upload's video ${videoId} answered ${answer.status} with ${JSON.stringify(video.object)} for a ${sizeBytes}-byte file`);
  const uploadId = new URL(uploadUrl).pathname.split('/').pop()!;
  return { id: videoId, key: video.object.key ?? `videos/${uploadId}/original`, sizeBytes, elapsedMs, retries, lastByteSentMs };
}

interface DirectStart {
  id: string;
  parts: { partNumber: number; sizeBytes: number; url: string }[];
}

/** Start, PUT every part (DIRECT_PARALLEL_PARTS at a time, each read from its range of the file), complete. */
async function directUpload(api: UploadApiProcess, file: string, sizeBytes: number): Promise<UploadedVideo & { completionMs: number }> {
  const started = performance.now();
  const headers = { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' };
  const startResponse = await fetch(`${api.baseUrl}/v1/uploads/direct`, { method: 'POST', headers, body: JSON.stringify({ sizeBytes, partSizeBytes: DIRECT_PART_BYTES, title: 'bench' }) });
  if (startResponse.status !== 201) throw new Error(`direct start answered ${startResponse.status}: ${await startResponse.text()}`);
  const start = (await startResponse.json()) as DirectStart;

  const etags: { partNumber: number; etag: string }[] = [];
  const queue = [...start.parts];
  const worker = async () => {
    for (let part = queue.shift(); part; part = queue.shift()) {
      const offset = (part.partNumber - 1) * DIRECT_PART_BYTES;
      etags.push({ partNumber: part.partNumber, etag: await putPart(part.url, file, offset, part.sizeBytes) });
    }
  };
  await Promise.all(Array.from({ length: DIRECT_PARALLEL_PARTS }, worker));
  etags.sort((a, b) => a.partNumber - b.partNumber);
  const partsDoneMs = performance.now() - started;

  const completeResponse = await fetch(`${api.baseUrl}/v1/uploads/direct/${start.id}/complete`, { method: 'POST', headers, body: JSON.stringify({ parts: etags }) });
  if (completeResponse.status !== 201) throw new Error(`direct completion answered ${completeResponse.status}: ${await completeResponse.text()}`);
  const video = (await completeResponse.json()) as { id: string; object: { key: string; sizeBytes: number } };
  const elapsedMs = performance.now() - started;
  if (video.object.sizeBytes !== sizeBytes) throw new Error(`the API recorded ${video.object.sizeBytes} bytes of a ${sizeBytes}-byte file`);
  return { id: video.id, key: video.object.key, sizeBytes, elapsedMs, completionMs: elapsedMs - partsDoneMs };
}

/** PUTs `length` bytes of `file` from `offset` to a presigned URL (loopback s3proxy); returns the ETag. */
function putPart(url: string, file: string, offset: number, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'PUT', headers: { 'content-length': length } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.once('end', () => {
        const etag = response.headers.etag;
        if (response.statusCode !== 200 || !etag) reject(new Error(`part PUT answered ${response.statusCode}: ${text}`));
        else resolve(etag);
      });
    });
    request.once('error', reject);
    const source = fs.createReadStream(file, { start: offset, end: offset + length - 1, highWaterMark: FILE_READ_CHUNK_BYTES });
    source.once('error', (error) => request.destroy(error));
    source.pipe(request);
  });
}

async function sampleWhileIdle(pid: number): Promise<RssSampler> {
  const sampler = new RssSampler(pid, SAMPLE_INTERVAL_MS).start();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  sampler.stop();
  return sampler;
}
