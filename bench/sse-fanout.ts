import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createPrismaClient } from '@video-pipeline/db';
import { sseReader } from '../test/support/sse';
import { withCleanup } from './support/cleanup';
import { readRssBytes } from './support/proc';
import { measurement, type Benchmark } from './support/report';
import { distribution, round, toMB } from './support/stats';
import { BENCH_API_KEY, spawnUploadApi } from './support/upload-api-process';

const TARGET_P99_MS = 200;

/**
 * Status fan-out: `--watchers` Server-Sent Events streams of one video on
 * one API process (its own), then a series of stage progress commits; for
 * each commit and each watcher, the time from the commit's acknowledgement
 * to the watcher's parsing of its event. Also the API's resident memory per
 * open stream.
 */
export const sseFanout: Benchmark = {
  name: 'sse-fanout',
  summary: 'stage commit → event on each of N SSE watchers of one API process (LISTEN/NOTIFY, one read per video), and memory per watcher',
  async run(env, options) {
    const watchers = options.watchers;
    const updates = 40;
    const videoId = randomUUID();
    const streams: http.ClientRequest[] = [];
    return withCleanup(async (cleanup) => {
      const prisma = createPrismaClient({ databaseUrl: env.databaseUrl, poolMax: 2 });
      cleanup.defer('disconnect', () => prisma.$disconnect());
      cleanup.defer('remove the video', async () => {
        await prisma.video.deleteMany({ where: { id: videoId } });
        await prisma.videoChange.deleteMany({ where: { videoId } });
      });
      const api = await spawnUploadApi(env, { name: 'sse', bucket: 'bench-sse', maxUploadBytes: 1024 ** 2, extraEnv: { EVENT_STREAM_HEARTBEAT_SECONDS: '15' } });
      cleanup.defer('stop the API', () => api.stop());
      cleanup.defer('close the streams', () => streams.forEach((stream) => stream.destroy()));
      await prisma.video.create({ data: { id: videoId, ownerId: 'bench', title: 'fan-out', bucket: 'bench-sse', objectKey: `videos/${videoId}/original`, sizeBytes: 1n, sha256: 'a'.repeat(64), contentType: 'video/mp4' } });
      await prisma.videoStage.create({ data: { videoId, stage: 'transcode', status: 'running', attempts: 1, startedAt: new Date() } });
      // Warm up: one stream opened and closed, so the memory baseline has the feed's connection and the route's code loaded.
      await openStreams(api.baseUrl, videoId, 1, new Map(), streams);
      streams.splice(0).forEach((stream) => stream.destroy());
      await new Promise((resolve) => setTimeout(resolve, 500));
      const rssBefore = readRssBytes(api.pid);

      const arrivals = new Map<string, number[]>();
      await openStreams(api.baseUrl, videoId, watchers, arrivals, streams);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const rssAfter = readRssBytes(api.pid);
      env.progress(`sse-fanout: ${watchers} watchers open; ${updates} progress commits`);

      const latencies: number[] = [];
      let missing = 0;
      for (let progress = 1; progress <= updates; progress++) {
        await prisma.videoStage.update({ where: { videoId_stage: { videoId, stage: 'transcode' } }, data: { progress } });
        const committed = performance.now();
        const deadline = committed + 5_000;
        while ((arrivals.get(String(progress))?.length ?? 0) < watchers && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        const got = arrivals.get(String(progress)) ?? [];
        missing += watchers - got.length;
        latencies.push(...got.map((at) => Math.max(0, at - committed)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const latency = distribution(latencies);
      const perWatcherKB = (rssAfter - rssBefore) / watchers / 1024;
      return {
        measurements: [
          measurement('commit → watcher event, p50', 'ms', latency.p50),
          measurement('commit → watcher event, p99', 'ms', latency.p99),
          measurement('commit → watcher event, max', 'ms', latency.max),
          measurement('API RSS per open stream', 'KB', perWatcherKB),
        ],
        target: { description: `p99 < ${TARGET_P99_MS} ms with ${watchers} watchers, every event delivered`, met: latency.p99 < TARGET_P99_MS && missing === 0 },
        findings: [
          `${watchers} watchers × ${updates} commits = ${latencies.length} deliveries, ${missing} missing`,
          `API RSS ${round(toMB(rssBefore), 1)} MB with no stream open, ${round(toMB(rssAfter), 1)} MB with ${watchers}`,
          'watchers and the committing client run in the bench process; the API in its own',
        ],
        details: { watchers, updates, latency, rssBefore, rssAfter, missing },
      };
    });
  },
};

/** Opens `count` event streams; records, per progress value, when each stream parsed its event. */
async function openStreams(baseUrl: string, videoId: string, count: number, arrivals: Map<string, number[]>, streams: http.ClientRequest[]): Promise<void> {
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const request = http.get(`${baseUrl}/v1/videos/${videoId}/events`, { agent: false, headers: { authorization: `Bearer ${BENCH_API_KEY}` } }, (res) => {
            if (res.statusCode !== 200) return reject(new Error(`event stream answered ${res.statusCode}`));
            res.setEncoding('utf8');
            res.on(
              'data',
              sseReader({
                onEvent: (event) => {
                  if (event.event !== 'stage') return;
                  const progress = String((event.data as { progress: number }).progress);
                  let list = arrivals.get(progress);
                  if (!list) arrivals.set(progress, (list = []));
                  list.push(performance.now());
                },
              }),
            );
            resolve();
          });
          request.on('error', (error) => {
            if (!request.destroyed) reject(error);
          });
          streams.push(request);
        }),
    ),
  );
}
