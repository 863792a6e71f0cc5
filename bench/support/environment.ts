import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type PipelineConfig } from '@video-pipeline/config';
import { MIGRATIONS_DIR, applyMigrations, recreateDatabase } from '@video-pipeline/db';
import { createLogger, type Logger } from '@video-pipeline/logging';
import { startStack, type Stack } from '../../infra/stack';
import { DATA_ROOT } from '../../infra/stack/paths';
import type { BenchOptions } from './options';

/** Everything of the bench lives under .data/bench (gitignored). */
export const BENCH_DATA_DIR = path.join(DATA_ROOT, 'bench');

/** What every benchmark gets: its own stack, database and folders, apart from the dev and test stacks. */
export interface BenchEnv {
  stack: Stack;
  databaseUrl: string;
  /** Generated inputs (large videos); kept between runs. */
  mediaDir: string;
  /** Logs of processes the benchmarks start. */
  logDir: string;
  logger: Logger;
  /** Pipeline configuration pointing at the bench stack, with topics prefixed by `prefix`. */
  config(prefix: string, overrides?: NodeJS.ProcessEnv): PipelineConfig;
  progress(message: string): void;
}

export interface RunningBenchEnv extends BenchEnv {
  stop(): Promise<void>;
}

/**
 * Starts a fresh bench stack (Kafka and s3proxy data wiped, inputs kept) and
 * recreates the bench database with the migrations applied.
 */
export async function startBenchEnv(options: BenchOptions, progress: (message: string) => void): Promise<RunningBenchEnv> {
  const stackDir = path.join(BENCH_DATA_DIR, 'stack');
  const logDir = path.join(BENCH_DATA_DIR, 'logs');
  await fs.rm(stackDir, { recursive: true, force: true });
  await fs.mkdir(logDir, { recursive: true });

  const [stackResult, databaseResult] = await Promise.allSettled([
    startStack({
      dataDir: stackDir,
      kafka: { port: options.kafkaPort, controllerPort: options.kafkaPort + 1 },
      s3: { port: options.s3Port },
      onProgress: (message) => progress(`stack: ${message}`),
      handleSignals: true,
    }),
    recreateDatabase(options.databaseUrl).then(() => applyMigrations({ databaseUrl: options.databaseUrl, migrationsDir: MIGRATIONS_DIR })),
  ]);
  if (stackResult.status === 'rejected' || databaseResult.status === 'rejected') {
    if (stackResult.status === 'fulfilled') await stackResult.value.stop();
    throw stackResult.status === 'rejected' ? stackResult.reason : (databaseResult as PromiseRejectedResult).reason;
  }
  const stack = stackResult.value;
  progress(`database ${new URL(options.databaseUrl).pathname.slice(1)} recreated and migrated`);

  const logger = createLogger('bench', { level: process.env.BENCH_LOG_LEVEL ?? 'error', destination: process.stderr });
  return {
    stack,
    databaseUrl: options.databaseUrl,
    mediaDir: path.join(BENCH_DATA_DIR, 'media'),
    logDir,
    logger,
    progress,
    config: (prefix, overrides = {}) =>
      loadConfig({ ...stack.env, DATABASE_URL: options.databaseUrl, KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'silent', ...overrides }, 'bench'),
    stop: () => stack.stop(),
  };
}

/** A short unique prefix for one benchmark's topics and groups, e.g. `b1a2b3-latency.` */
export function benchPrefix(name: string): string {
  return `b${Date.now().toString(36)}-${name}.`;
}
