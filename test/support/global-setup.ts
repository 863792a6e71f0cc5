import fs from 'node:fs/promises';
import { MIGRATIONS_DIR, applyMigrations, recreateDatabase } from '@video-pipeline/db';
import { STACK_PRESETS, startStack, type Stack } from '../../infra/stack';
import { EXTERNAL_TEST_DATABASE_URL, TEST_DATABASE_URL, TEST_STACK_SLOT } from './test-env';

/**
 * Starts the test stack (its own Kafka, S3 and Postgres ports and data,
 * apart from the dev stack) on an empty data directory, applies the
 * migrations to a new test database, then points every test at them
 * through the environment. With TEST_DATABASE_URL the database is that one,
 * recreated, on a server of the caller's; the teardown drops it.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const preset = testStackPreset(TEST_STACK_SLOT);
  await fs.rm(preset.dataDir, { recursive: true, force: true });
  const progress = (message: string) => process.stderr.write(`[test stack] ${message}\n`);
  progress(`Node ${process.version} (${process.execPath})`);
  const [stack] = await Promise.all([
    startStack({ ...preset, onProgress: progress, handleSignals: true }),
    EXTERNAL_TEST_DATABASE_URL && recreateDatabase(EXTERNAL_TEST_DATABASE_URL),
  ]);
  setTestStack(stack);
  await applyMigrations({ databaseUrl: TEST_DATABASE_URL, migrationsDir: MIGRATIONS_DIR });
  Object.assign(process.env, stack.env, { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' });
  progress(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Slot n shifts ports by 10·n and uses its own data, so parallel test runs on one machine never meet. */
function testStackPreset(slot: number) {
  const { test } = STACK_PRESETS;
  return {
    dataDir: slot === 0 ? test.dataDir : `${test.dataDir}-${slot}`,
    kafka: { port: test.kafka.port + 10 * slot, controllerPort: test.kafka.controllerPort + 10 * slot },
    s3: { port: test.s3.port + 10 * slot },
    ...(EXTERNAL_TEST_DATABASE_URL ? {} : { postgres: { ...test.postgres, port: test.postgres.port + 10 * slot } }),
  };
}

function setTestStack(stack: Stack): void {
  (globalThis as { __pipelineTestStack?: Stack }).__pipelineTestStack = stack;
}
