import type { PipelineConfig } from '@video-pipeline/config';
import type { PrismaClient } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';
import { TextBlocklist } from '@video-pipeline/moderation-rules';
import type { ObjectStorage } from '@video-pipeline/storage';
import { LifecycleStore } from './lifecycle-store';
import { PlaybackTokens } from './playback-tokens';
import { VideoChangeFeed } from './video-change-feed';

/** What the lifecycle's routes (playback, event streams, edits, deletion, reviews) need. */
export interface LifecycleApiDeps {
  prisma: PrismaClient;
  store: LifecycleStore;
  tokens: PlaybackTokens;
  feed: VideoChangeFeed;
  blocklist: TextBlocklist;
  heartbeatMs: number;
}

/** The lifecycle routes' dependencies from the config (the API's close stops the feed). */
export function lifecycleApiDeps(config: PipelineConfig, { prisma, storage, logger, eventSource }: { prisma: PrismaClient; storage: ObjectStorage; logger: Logger; eventSource: string }): LifecycleApiDeps {
  if (!config.playback.tokenSecret) logger.warn('PLAYBACK_TOKEN_SECRET is unset: playback URLs are signed with a random secret and stop working when this process ends');
  return {
    prisma,
    store: new LifecycleStore(prisma, storage, { eventSource, topicPrefix: config.kafka.topicPrefix }),
    tokens: new PlaybackTokens(config.playback.tokenSecret, config.playback.tokenTtlSeconds),
    feed: new VideoChangeFeed(config.database.url, prisma, logger),
    blocklist: new TextBlocklist(config.moderation.blocklist),
    heartbeatMs: config.playback.eventStreamHeartbeatMs,
  };
}

export { LifecycleStore, PlaybackTokens, VideoChangeFeed };
