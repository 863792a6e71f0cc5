import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PipelineConfig } from '@video-pipeline/config';
import type { EventHandler, HandlerContext } from '@video-pipeline/consumer';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { createEvent, eventCatalog, type CloudEvent, type EventType } from '@video-pipeline/events';
import { mediaJobDeps, type MediaJobDeps } from '@video-pipeline/media-jobs';
import { ObjectStorage, createS3Client } from '@video-pipeline/storage';
import { testLogger } from './pipeline';
import { startBucketReader } from './s3-reader';
import { testConfig, uniquePrefix } from './test-env';

/**
 * A media group's world for one test file, on the real S3 server, database
 * and ffmpeg: a bucket and topic prefix of its own, a work folder of its
 * own, and `handle()`, which runs a handler on an event and applies the
 * effects it returns in one transaction, as the consumer runtime does.
 */
export class MediaTestbed {
  readonly config: PipelineConfig;
  readonly prisma: PrismaClient;
  readonly storage: ObjectStorage;
  readonly tempDir: string;
  private reader?: Awaited<ReturnType<typeof startBucketReader>>;

  constructor(name: string, env: NodeJS.ProcessEnv = {}) {
    this.tempDir = path.join(os.tmpdir(), `media-work-${name}-${randomUUID().slice(0, 8)}`);
    this.config = testConfig(uniquePrefix(name), { S3_BUCKET: `media-${name}-${Date.now().toString(36)}`, MEDIA_TEMP_DIR: this.tempDir, X264_PRESET: 'superfast', ...env });
    this.prisma = createPrismaClient({ databaseUrl: this.config.database.url, poolMax: 4 });
    this.storage = new ObjectStorage(createS3Client(this.config.storage), this.config.storage.bucket);
  }

  async start(): Promise<this> {
    await this.storage.ensureBucket();
    return this;
  }

  deps(group: 'transcoder' | 'thumbnailer', env: NodeJS.ProcessEnv = {}): MediaJobDeps {
    const config = Object.keys(env).length > 0 ? testConfig(this.config.kafka.topicPrefix, { S3_BUCKET: this.config.storage.bucket, MEDIA_TEMP_DIR: this.tempDir, X264_PRESET: 'superfast', ...env }) : this.config;
    return mediaJobDeps(group, { config, prisma: this.prisma, logger: testLogger() });
  }

  /** Stores a file as an upload would (bypassing the API's own checks: hostile files must be refused here too) and returns its `video.uploaded`. */
  async storeUpload(file: string, contentType = 'video/mp4'): Promise<CloudEvent<'video.uploaded'>> {
    const videoId = randomUUID();
    const key = `videos/${videoId}/original`;
    const { size } = await fs.stat(file);
    await this.storage.putFile(key, file, 'application/octet-stream');
    const object = { bucket: this.storage.bucket, key, sizeBytes: Math.max(size, 1), sha256: 'a'.repeat(64), contentType };
    const now = new Date();
    await this.prisma.video.create({
      data: { id: videoId, ownerId: 'alice', title: path.basename(file), bucket: object.bucket, objectKey: key, sizeBytes: BigInt(size), sha256: object.sha256, contentType, createdAt: now },
    });
    return createEvent('video.uploaded', { source: '/video-pipeline/test', subject: videoId, data: { schemaVersion: 1, videoId, ownerId: 'alice', title: null, object, uploadedAt: now.toISOString() } });
  }

  /** Runs the handler once, then applies its effects in a transaction; whether it returned effects. */
  async handle(handler: EventHandler<'video.uploaded'>, event: CloudEvent<'video.uploaded'>, context: Partial<HandlerContext> = {}): Promise<boolean> {
    const effects = await handler(event, { groupId: `${this.config.kafka.topicPrefix}media`, attempt: 1, logger: testLogger(), signal: new AbortController().signal, ...context });
    if (!effects) return false;
    await this.prisma.$transaction(effects, { timeout: 30_000 });
    return true;
  }

  /** The events of a type the handlers wrote to the outbox for a video, validated against the catalogue. */
  async published<T extends EventType>(type: T, videoId: string): Promise<CloudEvent<T>['data'][]> {
    const rows = await this.prisma.outboxEvent.findMany({ where: { key: videoId, type }, orderBy: { position: 'asc' } });
    return rows.map((row) => eventCatalog[type].schema.parse(row.payload) as CloudEvent<T>['data']);
  }

  stage(videoId: string, stage: 'transcode' | 'thumbnails') {
    return this.prisma.videoStage.findUnique({ where: { videoId_stage: { videoId, stage } } });
  }

  /** A URL that serves a stored key over plain HTTP on 127.0.0.1 (see startBucketReader). */
  async url(key: string): Promise<string> {
    this.reader ??= await startBucketReader(this.storage.client, this.storage.bucket);
    return this.reader.url(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return (await this.storage.listKeys(prefix)).sort();
  }

  /**
   * Also removes the events its handlers wrote to the outbox: no relay runs
   * here and their topics were never created, so a relay of a later test
   * (they share the database) would try to publish them.
   */
  async close(): Promise<void> {
    await this.reader?.close();
    await this.prisma.outboxEvent.deleteMany({ where: { topic: { startsWith: this.config.kafka.topicPrefix } } });
    await this.prisma.$disconnect();
    await fs.rm(this.tempDir, { recursive: true, force: true });
  }
}
