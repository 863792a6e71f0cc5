import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrismaClient } from '@video-pipeline/db';
import { createKafka, topicSpecs } from '@video-pipeline/kafka';
import { createTopics, startRelay } from '../test/support/pipeline';
import { bareLadder, bareSource, makeSource } from './media-workers';
import { withCleanup } from './support/cleanup';
import { benchPrefix } from './support/environment';
import { waitFor } from './support/kafka';
import { spawnMediaWorker } from './support/media-worker';
import { measurement, type Benchmark } from './support/report';
import { median } from './support/stats';
import { benchStorage, uploadThroughApi } from './support/uploads';
import { spawnUploadApi } from './support/upload-api-process';

const TARGET_RATIO = 1.25;

/**
 * The whole lifecycle against bare ffmpeg: a 1080p30 source uploaded
 * through the API (its own process), published by the relay, transcoded,
 * thumbnailed and moderated by the three groups' workers (their own
 * processes, at once, as in production), until the video is `ready`;
 * against the ladder's ffmpeg command alone on the same source from local
 * disk. Rounds alternate; the verdict is the median of each round's ratio.
 */
export const uploadToReady: Benchmark = {
  name: 'upload-to-ready',
  summary: 'upload → ready of a 1080p30 source (API, relay, transcoder, thumbnailer, moderation, each its own process but the relay), vs the bare ffmpeg ladder command',
  async run(env, options) {
    const seconds = options.mediaSeconds;
    env.progress(`upload-to-ready: preparing a ${seconds} s 1080p30 source`);
    const file = await makeSource(env.mediaDir, seconds);
    const source = await bareSource(file, env);
    const { size } = await fs.stat(file);
    return withCleanup(async (cleanup) => {
      const prefix = benchPrefix('ready');
      const bucket = 'bench-ready';
      const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-ready-'));
      cleanup.defer('remove the work folder', () => fs.rm(tempDir, { recursive: true, force: true }));
      const storage = await benchStorage(env, bucket);
      cleanup.defer('remove stored objects', () => storage.deletePrefix(''));
      await createTopics(createKafka(env.config(prefix).kafka, env.logger), prefix, topicSpecs);
      const prisma = createPrismaClient({ databaseUrl: env.databaseUrl });
      cleanup.defer('disconnect from the database', () => prisma.$disconnect());
      const api = await spawnUploadApi(env, { name: 'ready', bucket, maxUploadBytes: 10 * 1024 ** 3, extraEnv: { KAFKA_TOPIC_PREFIX: prefix } });
      cleanup.defer('stop the API', () => api.stop());
      const relay = await startRelay(env.config(prefix, { S3_BUCKET: bucket }));
      cleanup.defer('stop the relay', () => relay.close());
      for (const group of ['transcoder', 'thumbnailer', 'moderation'] as const) {
        const worker = await spawnMediaWorker(env, { group, prefix, bucket, tempDir });
        cleanup.defer(`stop the ${group}`, () => worker.stop());
      }

      const rounds: { bare: number; ready: number; stages: Record<string, number> }[] = [];
      for (let index = 0; index < options.mediaRounds; index++) {
        env.progress(`upload-to-ready: round ${index + 1}/${options.mediaRounds}: bare ffmpeg`);
        const bare = await bareLadder(source, file, env);
        env.progress(`upload-to-ready: round ${index + 1}/${options.mediaRounds}: the pipeline`);
        const started = performance.now();
        const video = await uploadThroughApi(api, file, size);
        let status = 'uploaded';
        await waitFor(
          async () => {
            status = (await prisma.video.findUniqueOrThrow({ where: { id: video.id }, select: { status: true } })).status;
            if (status === 'failed' || status === 'rejected') throw new Error(`the video ended ${status}`);
            return status === 'ready';
          },
          { timeoutMs: 30 * 60_000, intervalMs: 100, what: `video ${video.id} ready` },
        );
        const ready = (performance.now() - started) / 1000;
        const stageRows = await prisma.videoStage.findMany({ where: { videoId: video.id } });
        const stages = Object.fromEntries(stageRows.map((row) => [row.stage, (row.finishedAt!.getTime() - row.startedAt!.getTime()) / 1000]));
        rounds.push({ bare: bare.seconds, ready, stages });
        env.progress(`upload-to-ready: bare ${bare.seconds.toFixed(1)} s, upload → ready ${ready.toFixed(1)} s (${(ready / bare.seconds).toFixed(3)}×)`);
      }
      const ratio = median(rounds.map((each) => each.ready / each.bare));
      return {
        measurements: [
          measurement('upload → ready (median)', 's', median(rounds.map((each) => each.ready)), median(rounds.map((each) => each.bare))),
          measurement('upload → ready ÷ bare ladder (median of rounds)', '×', ratio),
        ],
        target: { description: `upload → ready ÷ bare ffmpeg ladder ≤ ${TARGET_RATIO}`, met: ratio <= TARGET_RATIO },
        findings: [
          `source: ${seconds} s of 1080p30 with stereo AAC (${(size / 1e6).toFixed(1)} MB), ${source.rungs} rungs; ${os.cpus().length} cores`,
          `rounds (bare → ready): ${rounds.map((each) => `${each.bare.toFixed(1)} → ${each.ready.toFixed(1)} s (${(each.ready / each.bare).toFixed(3)})`).join(', ')}`,
          `stage times (start → end): ${rounds.map((each) => Object.entries(each.stages).map(([stage, time]) => `${stage} ${time.toFixed(1)} s`).join(', ')).join(' | ')}`,
          'the three groups decode the source at once on the same cores: the thumbnails and moderation compete with the transcode',
        ],
        details: { rounds, seconds },
      };
    });
  },
};
