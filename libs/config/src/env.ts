import { z } from 'zod';

/** `key:owner` pairs, comma separated, e.g. `dev-key:alice,ci-key:ci`. */
const apiKeys = z.string().transform((raw, ctx) => {
  const keys = new Map<string, string>();
  for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const separator = pair.lastIndexOf(':');
    const key = pair.slice(0, separator).trim();
    const owner = pair.slice(separator + 1).trim();
    if (separator <= 0 || !key || !owner) {
      ctx.addIssue({ code: 'custom', message: `expected key:owner, got "${pair}"` });
      continue;
    }
    keys.set(key, owner);
  }
  return keys;
});

const commaList = z.string().transform((raw) => raw.split(',').map((s) => s.trim()).filter(Boolean));

/** A browser origin: scheme, host and port, nothing after them (what browsers send in `Origin`). */
const origin = z.string().refine((raw) => URL.canParse(raw) && new URL(raw).origin === raw, {
  error: (issue) => `expected origins such as https://app.example.com (no path, no trailing slash) or *, got "${String(issue.input)}"`,
});
const port = z.coerce.number().int().min(0).max(65535);
const bytes = z.coerce.number().int().positive();

/** Every environment variable the pipeline reads, with its default. */
export const envSchema = z.object({
  /** The local stack's own Postgres (npm start) by default. */
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:9432/video_pipeline'),
  KAFKA_BROKERS: commaList.pipe(z.array(z.string().min(1)).min(1)).default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  /** Prefixes every topic name; lets tests and shared clusters keep topics apart. */
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  /** How long a connection to a broker may take to open (kafkajs' 1 s default times out at start on a busy machine). */
  KAFKA_CONNECTION_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  S3_ENDPOINT: z.string().url().default('http://127.0.0.1:9000'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(3).default('videos'),
  S3_ACCESS_KEY_ID: z.string().min(1).default('pipeline'),
  S3_SECRET_ACCESS_KEY: z.string().min(1).default('pipeline-secret'),
  API_KEYS: apiKeys.default(new Map()),
  /** Keys of people with admin rights (reviewers), `key:name` pairs: they act as themselves, never as an owner. */
  ADMIN_API_KEYS: apiKeys.default(new Map()),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  /** Largest accepted upload; 5 GiB by default. */
  MAX_UPLOAD_BYTES: bytes.default(5 * 1024 ** 3),
  /** Browser origins allowed to call the API across origins (CORS), comma separated, or `*` for any; none by default. */
  CORS_ORIGINS: commaList.pipe(z.array(z.union([z.literal('*'), origin]))).default([]),
  /** Port of a consumer worker's health and metrics server; 0 picks a free one. */
  METRICS_PORT: port.default(0),
  /** Hours between two prunings of a consumer group's idempotency records by each of its workers; 0 leaves pruning to `ops prune`. */
  IDEMPOTENCY_PRUNE_HOURS: z.coerce.number().min(0).default(6),
  /** Media limits: a source over any is refused with its media_* code before it is transcoded. */
  MEDIA_MAX_SIDE: z.coerce.number().int().positive().default(4096),
  MEDIA_MAX_DURATION_SECONDS: z.coerce.number().positive().default(4 * 60 * 60),
  MEDIA_MAX_FPS: z.coerce.number().positive().default(120),
  /** Longest one ffmpeg run may take before it is killed (the transcoder's handler time limit follows it). */
  MEDIA_TIME_LIMIT_SECONDS: z.coerce.number().int().positive().default(3 * 60 * 60),
  /** ffmpeg's -threads; 0 lets ffmpeg choose (one per core). */
  FFMPEG_THREADS: z.coerce.number().int().min(0).default(0),
  /** libx264's preset for the HLS ladder. */
  X264_PRESET: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow']).default('veryfast'),
  /** Where ffmpeg's work files go (one folder per worker process, swept of dead workers' at start); default: <os tmpdir>/video-pipeline-media. */
  MEDIA_TEMP_DIR: z.string().min(1).optional(),
  /** Webhooks: host names, addresses and CIDRs (comma separated) a webhook may reach although they are not public; plain http is allowed to them. */
  WEBHOOK_ALLOWED_TARGETS: commaList.default([]),
  /** Webhooks: how long one attempt may wait for its answer. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** Webhooks: the delays before each retry, in ms, comma separated; default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h. */
  WEBHOOK_RETRY_DELAYS_MS: commaList.pipe(z.array(z.string().regex(/^\d+$/, { error: 'expected whole milliseconds, e.g. 5000,300000' }).transform(Number))).optional(),
  /** Webhooks: an endpoint is disabled after this many failed attempts in a row ... */
  WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().positive().default(20),
  /** ... spanning at least this many hours. */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().min(0).default(5 * 24),
  /** Webhooks: how long the secret before a rotation still signs. */
  WEBHOOK_SECRET_GRACE_HOURS: z.coerce.number().min(0).default(24),
  /** Webhooks: attempts in flight at once per notifications instance. */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().positive().default(32),
  /**
   * No longer read: the analytics gauges moved to the analytics worker's own /metrics (METRICS_PORT). Refused rather than
   * ignored, so that a scrape still pointed at the old port is found at start, not by an empty dashboard.
   */
  ANALYTICS_METRICS_PORT: z
    .never({ error: 'no longer used: the analytics worker serves its gauges on its own /metrics at METRICS_PORT; unset ANALYTICS_METRICS_PORT and scrape that port' })
    .optional(),

  // ---- Uploads at real sizes (issue 22) ----
  /** Per owner: the bytes its videos and open uploads may hold; 100 GiB by default. */
  QUOTA_STORED_BYTES: bytes.default(100 * 1024 ** 3),
  /** Per owner: uploads started in any 24 hours; 500 by default. */
  QUOTA_UPLOADS_PER_DAY: z.coerce.number().int().positive().default(500),
  /** Hours after which an unfinished resumable (tus) or direct upload is swept away; 24 by default. */
  UPLOAD_EXPIRY_HOURS: z.coerce.number().positive().default(24),
  /** Hours a finished or deleted video's change history (behind its event stream) is kept before the upload sweeper trims it; 7 days by default. */
  CHANGE_LOG_RETENTION_HOURS: z.coerce
    .number({ error: 'expected a number of hours, e.g. 168 for 7 days' })
    .positive({ error: 'expected a positive number of hours, e.g. 168 for 7 days' })
    .default(7 * 24),
  /** The S3 endpoint as clients see it, for direct uploads' presigned URLs; S3_ENDPOINT by default. */
  S3_PUBLIC_ENDPOINT: z.string().url().optional(),
  /** How long a direct upload's presigned part URLs stay valid; one hour by default. */
  DIRECT_UPLOAD_URL_SECONDS: z.coerce.number().int().positive().max(7 * 24 * 60 * 60).default(60 * 60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // ---- Lifecycle (issue 20): moderation, playback, event streams ----
  /** Words and phrases a title or description may not contain (whole words, case and accents ignored), comma separated. */
  MODERATION_BLOCKLIST: commaList.default([]),
  /** dHashes (16 hex digits) of known-bad pictures; a sampled frame within MODERATION_FRAME_HASH_DISTANCE bits of one rejects the video. */
  MODERATION_BLOCKED_FRAME_HASHES: commaList.pipe(z.array(z.string().regex(/^[0-9a-fA-F]{16}$/, { error: 'expected dHashes of 16 hex digits' }))).default([]),
  MODERATION_FRAME_HASH_DISTANCE: z.coerce.number().int().min(0).max(32).default(6),
  /** Frames compared, spread over the video. */
  MODERATION_FRAME_SAMPLES: z.coerce.number().int().min(1).max(100).default(10),
  /** ffmpeg demuxer names (mov, matroska, avi, ...) and video codecs (h264, hevc, ...) accepted; empty: any the pipeline reads. */
  MODERATION_ALLOWED_CONTAINERS: commaList.default([]),
  MODERATION_ALLOWED_CODECS: commaList.default([]),
  /** 0: no limit beyond MEDIA_MAX_DURATION_SECONDS. */
  MODERATION_MAX_DURATION_SECONDS: z.coerce.number().min(0).default(0),
  MODERATION_MIN_SHORT_SIDE: z.coerce.number().int().min(0).default(64),
  /** An external classifier's URL (POST, JSON); none by default. */
  MODERATION_CLASSIFIER_URL: z.string().url().optional(),
  MODERATION_CLASSIFIER_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** Signs playback URLs (at least 32 characters); every API instance needs the same. Unset: a random one per process. */
  PLAYBACK_TOKEN_SECRET: z.string().min(32, { error: 'PLAYBACK_TOKEN_SECRET must be at least 32 characters' }).optional(),
  PLAYBACK_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(6 * 60 * 60),
  /** Seconds between heartbeats on an idle event stream. */
  EVENT_STREAM_HEARTBEAT_SECONDS: z.coerce.number().positive().default(15),
});

export type Env = z.infer<typeof envSchema>;
