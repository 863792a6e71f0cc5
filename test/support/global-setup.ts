import fs from 'node:fs/promises';
import { MIGRATIONS_DIR, applyMigrations, recreateDatabase } from '@video-pipeline/db';
import { STACK_PRESETS, startStack } from '../../infra/stack';
import { TEST_DATABASE_URL, TEST_STACK_SLOT } from './test-env';

/**
 * Starts the test stack (its own Kafka and S3 ports and data, apart from the
 * dev stack), recreates the test database and applies the migrations, then
 * points every test at them through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const preset = testStackPreset(TEST_STACK_SLOT);
  await fs.rm(preset.dataDir, { recursive: true, force: true });
  const progress = (message: string) => process.stderr.write(`[test stack] ${message}\n`);
  const [stack] = await Promise.all([
    startStack({ ...preset, onProgress: progress, handleSignals: true }),
    recreateDatabase(TEST_DATABASE_URL).then(() =>
      applyMigrations({ databaseUrl: TEST_DATABASE_URL, migrationsDir: MIGRATIONS_DIR }),
    ),
  ]);
  Object.assign(process.env, stack.env, { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' });
  (globalThis as { __pipelineTestStack?: typeof stack }).__pipelineTestStack = stack;
  progress(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Slot n shifts ports by 10·n and uses its own data, so parallel test runs on one machine never meet. */
function testStackPreset(slot: number) {
  const { test } = STACK_PRESETS;
  if (slot === 0) return test;
  return {
    dataDir: `${test.dataDir}-${slot}`,
    kafka: { port: test.kafka.port + 10 * slot, controllerPort: test.kafka.controllerPort + 10 * slot },
    s3: { port: test.s3.port + 10 * slot },
  };
}

