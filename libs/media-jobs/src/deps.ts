import type { PipelineConfig } from '@video-pipeline/config';
import type { PrismaClient } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';
import { MediaToolkit } from '@video-pipeline/media';
import { ObjectStorage, createS3Client } from '@video-pipeline/storage';
import type { MediaJobDeps } from './media-job';

/**
 * A media group's dependencies from its config, made once in its `main`:
 * storage, the media toolkit (its limits, time limit, threads, preset and
 * work folder from the config) and where its events go.
 */
export function mediaJobDeps(group: string, { config, prisma, logger }: { config: PipelineConfig; prisma: PrismaClient; logger: Logger }): MediaJobDeps {
  const { media } = config;
  return {
    prisma,
    storage: new ObjectStorage(createS3Client(config.storage), config.storage.bucket),
    media: new MediaToolkit({ limits: media.limits, timeLimitMs: media.timeLimitMs, threads: media.threads, x264Preset: media.x264Preset, tempDir: media.tempDir, logger }),
    topicPrefix: config.kafka.topicPrefix,
    eventSource: `/video-pipeline/${group}`,
    // The URL must outlive the longest ffmpeg run that reads it.
    sourceUrlSeconds: Math.ceil(media.timeLimitMs / 1000) + 600,
  };
}
