import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { otherEventsIgnored } from '../test/support/events';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { handlerOf, recordVideoReceipt, type EventHandler, type EventHandlers, type WorkerDeps } from '@video-pipeline/consumer';
import { createPrismaClient } from '@video-pipeline/db';
import { createEvent, toKafkaRecord, type EventType } from '@video-pipeline/events';
import { createKafka, createProducer } from '@video-pipeline/kafka';
import { createS3Client } from '@video-pipeline/storage';
import { createTopics } from '../test/support/pipeline';
import { withCleanup } from './support/cleanup';
import { DrainClock, drainWithRuntime } from './support/drain';
import { benchPrefix } from './support/environment';
import { videoUploadedSpec } from './support/kafka';
import { measurement, type Benchmark } from './support/report';
import { round } from './support/stats';
import { benchStorage } from './support/uploads';

const run = promisify(execFile);
const TARGET_SHARE = 0.01;
const BUCKET = 'bench-share';

/** A group's handlers, as its service makes them: what `--handlers <module>` must export as `makeHandlers` (or its default). */
export type MakeHandlers = (deps: WorkerDeps) => EventHandlers;

/**
 * The runtime's share of the wall time when its handler does real work:
 * `video.uploaded` events for short clips stored in the bench's S3, handled
 * one at a time (a one-partition topic) from the first handler call to the
 * last commit; the share is what the handler attempts (timed by the
 * runtime's own histogram) leave of that time: decoding, lookups, commits
 * with their effects, offsets. With `--handlers <module>` the handlers are a
 * group's real ones (the module exports `makeHandlers(deps)`, as the
 * service's main passes to runConsumerWorker); without, a stand-in that
 * runs ffmpeg for a poster frame of the clip and records a receipt.
 */
export const consumerShare: Benchmark = {
  name: 'consumer-share',
  summary: "the consumer runtime's share of the wall time while a handler does real work on short clips, events one at a time",
  async run(env, options) {
    const prefix = benchPrefix('share');
    const config = env.config(prefix, { S3_BUCKET: BUCKET });
    const kafka = createKafka(config.kafka, env.logger);
    await createTopics(kafka, prefix, [{ ...videoUploadedSpec, partitions: 1 }]);

    return withCleanup(async (cleanup) => {
      const prisma = createPrismaClient({ databaseUrl: env.databaseUrl });
      cleanup.defer('disconnect prisma', () => prisma.$disconnect());
      const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-share-'));
      cleanup.defer('remove the work folder', () => fs.rm(work, { recursive: true, force: true }));
      const clip = await makeClip(env.mediaDir);
      const makeHandlers = options.handlersModule ? await loadHandlers(options.handlersModule) : standInHandlers(work);
      const handlersName = options.handlersModule ?? 'stand-in (ffmpeg poster frame + receipt)';

      env.progress(`consumer-share: storing ${options.shareEvents} clips and publishing their events`);
      const storage = await benchStorage(env, BUCKET);
      const bytes = await fs.readFile(clip);
      const events = [];
      for (let index = 0; index < options.shareEvents; index++) {
        const videoId = randomUUID();
        const key = `videos/${videoId}/original`;
        const stored = await storage.uploadVideo(key, (await fs.open(clip)).createReadStream(), { maxBytes: bytes.length });
        const object = { bucket: BUCKET, key, sizeBytes: stored.sizeBytes, sha256: stored.sha256, contentType: stored.contentType };
        // The video's row, as the upload API writes it: the media groups' real handlers skip a video that is gone.
        await prisma.video.create({ data: { id: videoId, ownerId: 'bench', title: 'bench clip', bucket: BUCKET, objectKey: key, sizeBytes: BigInt(stored.sizeBytes), sha256: stored.sha256, contentType: stored.contentType } });
        events.push(
          createEvent('video.uploaded', {
            source: '/video-pipeline/bench',
            subject: videoId,
            data: { schemaVersion: 1, videoId, ownerId: 'bench', title: 'bench clip', object, uploadedAt: new Date().toISOString() },
          }),
        );
      }
      const producer = createProducer(kafka);
      await producer.connect();
      await producer.send({ topic: prefix + videoUploadedSpec.name, acks: -1, messages: events.map((event) => toKafkaRecord(event, '')) });
      await producer.disconnect();

      env.progress(`consumer-share: handling them with ${handlersName}`);
      const clock = new DrainClock();
      const handlers = makeHandlers({ config, prisma, logger: env.logger });
      const { drain, metrics } = await drainWithRuntime(
        {
          kafka,
          prisma,
          logger: env.logger,
          prefix,
          group: 'thumbnailer',
          handlers: markingFirstCall(handlers, clock),
          events: events.length,
          partitionsConcurrently: 1,
          timeoutMs: 120_000 + events.length * 60_000,
        },
        clock,
      );
      const durations = (await metrics.handlerDuration.get()).values;
      const handlerSeconds = durations.filter((value) => value.metricName === 'pipeline_handler_duration_seconds_sum').reduce((sum, value) => sum + value.value, 0);
      const wallSeconds = drain.elapsedMs / 1000;
      const share = 1 - handlerSeconds / wallSeconds;
      return {
        measurements: [
          measurement("runtime's share of the wall time", 'ratio', share),
          measurement('wall time per event', 'ms', (wallSeconds * 1000) / events.length),
          measurement('handler time per event', 'ms', (handlerSeconds * 1000) / events.length),
          measurement("runtime's time per event (wall − handler)", 'ms', ((wallSeconds - handlerSeconds) * 1000) / events.length),
        ],
        target: { description: `runtime's share of the wall time < ${TARGET_SHARE * 100}%`, met: share < TARGET_SHARE },
        findings: [
          `handlers: ${handlersName}; ${events.length} events of a ${round(bytes.length / 1024, 1)} KiB clip, one partition, handled one at a time`,
          'the runtime\'s time includes each commit\'s transaction with its effects, the duplicate lookup of each fetched batch, and offsets',
        ],
        details: { events: events.length, handlers: handlersName, wallSeconds, handlerSeconds },
      };
    });
  },
};

/** A 2-second 320×240 H.264 clip, made once by ffmpeg from its lavfi test source (never checked in). */
async function makeClip(dir: string): Promise<string> {
  const file = path.join(dir, 'share-2s-320x240.mp4');
  if (await fs.stat(file).catch(() => undefined)) return file;
  await fs.mkdir(dir, { recursive: true });
  const partial = `${file}.partial.mp4`;
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', partial]);
  await fs.rename(partial, file);
  return file;
}

/** The handlers, each starting the clock at its first call. */
function markingFirstCall(handlers: EventHandlers, clock: DrainClock): EventHandlers {
  const marked = { ...handlers } as Record<EventType, EventHandlers[EventType]>;
  for (const type of Object.keys(marked) as EventType[]) {
    const entry = marked[type];
    const handler = handlerOf<EventType>(entry);
    if (!handler) continue;
    const timed: EventHandler<EventType> = (event, context) => {
      clock.start();
      return handler(event, context);
    };
    marked[type] = typeof entry === 'object' ? { ...entry, handle: timed } : timed;
  }
  return marked as EventHandlers;
}

/** Until a group's real handlers exist: the clip from S3, a poster frame of it by ffmpeg (the kind of work a thumbnailer does), then a receipt. */
function standInHandlers(work: string): MakeHandlers {
  return ({ config }) => {
    const s3 = createS3Client(config.storage);
    return {
      ...otherEventsIgnored,
      'video.uploaded': async (event, context) => {
        const input = path.join(work, `${event.id}.mp4`);
        const { Body } = await s3.send(new GetObjectCommand({ Bucket: event.data.object.bucket, Key: event.data.object.key }), { abortSignal: context.signal });
        await fs.writeFile(input, await Body!.transformToByteArray());
        await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-ss', '1', '-i', input, '-frames:v', '1', path.join(work, `${event.id}.jpg`)], { signal: context.signal });
        return recordVideoReceipt(event, context);
      },
    };
  };
}

async function loadHandlers(modulePath: string): Promise<MakeHandlers> {
  const loaded = (await import(pathToFileURL(path.resolve(modulePath)).href)) as { makeHandlers?: MakeHandlers; default?: MakeHandlers };
  const makeHandlers = loaded.makeHandlers ?? loaded.default;
  if (typeof makeHandlers !== 'function') throw new Error(`${modulePath} exports no makeHandlers(deps) function`);
  return makeHandlers;
}
