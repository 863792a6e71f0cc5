import os from 'node:os';
import path from 'node:path';
import { envSchema } from './env';

export interface DatabaseConfig {
  url: string;
}

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  /** How long opening a connection to a broker may take (KAFKA_CONNECTION_TIMEOUT_MS). */
  connectionTimeoutMs: number;
}

export interface StorageConfig {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ApiConfig {
  host: string;
  port: number;
  /** API key -> owner id. */
  apiKeys: ReadonlyMap<string, string>;
  /** Admin API key -> the admin's name (a reviewer), for admin routes. */
  adminApiKeys: ReadonlyMap<string, string>;
  maxUploadBytes: number;
  /** Origins whose browser pages may call the API (CORS); `*` for any; empty: same-origin only. */
  corsOrigins: string[];
}

/** Resumable and direct uploads, quotas (issue 22). */
export interface UploadsConfig {
  quotas: { storedBytes: number; uploadsPerDay: number };
  /** How long an unfinished tus or direct upload lives before the sweeper removes it. */
  expiryMs: number;
  /** How long a finished or deleted video's change log (its event stream's history) is kept; the upload sweeper trims it after. */
  changeLogRetentionMs: number;
  /** The S3 endpoint clients reach, for presigned part URLs. */
  publicS3Endpoint: string;
  presignedUrlSeconds: number;
}

export interface MediaConfig {
  limits: { maxSide: number; maxDurationSeconds: number; maxFps: number };
  /** Longest one ffmpeg run may take. */
  timeLimitMs: number;
  /** ffmpeg's -threads (0: ffmpeg decides). */
  threads: number;
  x264Preset: string;
  tempDir: string;
}

export interface ModerationConfig {
  blocklist: string[];
  blockedFrameHashes: string[];
  frameHashDistance: number;
  frameSamples: number;
  policy: { allowedContainers: string[]; allowedCodecs: string[]; maxDurationSeconds: number; minShortSide: number };
  classifier: { url: string; timeoutMs: number } | null;
}

export interface PlaybackConfig {
  /** Undefined: the API makes a random one at start. */
  tokenSecret?: string;
  tokenTtlSeconds: number;
  eventStreamHeartbeatMs: number;
}

export interface WebhookConfig {
  /** WEBHOOK_ALLOWED_TARGETS, as written. */
  allowedTargets: string[];
  timeoutMs: number;
  /** Undefined: the delivery policy's default schedule. */
  retryDelaysMs?: number[];
  disableAfterFailures: number;
  disableAfterMs: number;
  secretGraceMs: number;
  concurrency: number;
}

export interface PipelineConfig {
  database: DatabaseConfig;
  kafka: KafkaConfig;
  storage: StorageConfig;
  api: ApiConfig;
  media: MediaConfig;
  moderation: ModerationConfig;
  playback: PlaybackConfig;
  webhooks: WebhookConfig;
  uploads: UploadsConfig;
  metricsPort: number;
  /** How often a consumer worker prunes its group's idempotency records; 0: never. */
  idempotencyPruneEveryHours: number;
  logLevel: string;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the environment once, at start-up. Services receive the
 * resulting object; nothing reads `process.env` deeper in the code.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, serviceName = 'video-pipeline'): PipelineConfig {
  // Empty strings mean "unset", as they do in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  return {
    database: { url: e.DATABASE_URL },
    kafka: { brokers: e.KAFKA_BROKERS, clientId: e.KAFKA_CLIENT_ID ?? serviceName, topicPrefix: e.KAFKA_TOPIC_PREFIX, connectionTimeoutMs: e.KAFKA_CONNECTION_TIMEOUT_MS },
    storage: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
    },
    api: { host: e.HOST, port: e.PORT, apiKeys: e.API_KEYS, adminApiKeys: e.ADMIN_API_KEYS, maxUploadBytes: e.MAX_UPLOAD_BYTES, corsOrigins: e.CORS_ORIGINS },
    media: {
      limits: { maxSide: e.MEDIA_MAX_SIDE, maxDurationSeconds: e.MEDIA_MAX_DURATION_SECONDS, maxFps: e.MEDIA_MAX_FPS },
      timeLimitMs: e.MEDIA_TIME_LIMIT_SECONDS * 1000,
      threads: e.FFMPEG_THREADS,
      x264Preset: e.X264_PRESET,
      tempDir: e.MEDIA_TEMP_DIR ?? path.join(os.tmpdir(), 'video-pipeline-media'),
    },
    moderation: {
      blocklist: e.MODERATION_BLOCKLIST,
      blockedFrameHashes: e.MODERATION_BLOCKED_FRAME_HASHES.map((hash) => hash.toLowerCase()),
      frameHashDistance: e.MODERATION_FRAME_HASH_DISTANCE,
      frameSamples: e.MODERATION_FRAME_SAMPLES,
      policy: { allowedContainers: e.MODERATION_ALLOWED_CONTAINERS, allowedCodecs: e.MODERATION_ALLOWED_CODECS, maxDurationSeconds: e.MODERATION_MAX_DURATION_SECONDS, minShortSide: e.MODERATION_MIN_SHORT_SIDE },
      classifier: e.MODERATION_CLASSIFIER_URL ? { url: e.MODERATION_CLASSIFIER_URL, timeoutMs: e.MODERATION_CLASSIFIER_TIMEOUT_MS } : null,
    },
    playback: { tokenSecret: e.PLAYBACK_TOKEN_SECRET, tokenTtlSeconds: e.PLAYBACK_TOKEN_TTL_SECONDS, eventStreamHeartbeatMs: e.EVENT_STREAM_HEARTBEAT_SECONDS * 1000 },
    webhooks: {
      allowedTargets: e.WEBHOOK_ALLOWED_TARGETS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryDelaysMs: e.WEBHOOK_RETRY_DELAYS_MS,
      disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER_HOURS * 60 * 60 * 1000,
      secretGraceMs: e.WEBHOOK_SECRET_GRACE_HOURS * 60 * 60 * 1000,
      concurrency: e.WEBHOOK_CONCURRENCY,
    },
    uploads: {
      quotas: { storedBytes: e.QUOTA_STORED_BYTES, uploadsPerDay: e.QUOTA_UPLOADS_PER_DAY },
      expiryMs: e.UPLOAD_EXPIRY_HOURS * 60 * 60 * 1000,
      changeLogRetentionMs: Math.round(e.CHANGE_LOG_RETENTION_HOURS * 60 * 60 * 1000),
      publicS3Endpoint: e.S3_PUBLIC_ENDPOINT ?? e.S3_ENDPOINT,
      presignedUrlSeconds: e.DIRECT_UPLOAD_URL_SECONDS,
    },
    metricsPort: e.METRICS_PORT,
    idempotencyPruneEveryHours: e.IDEMPOTENCY_PRUNE_HOURS,
    logLevel: e.LOG_LEVEL,
  };
}
