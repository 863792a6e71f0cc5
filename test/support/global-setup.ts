import fs from 'node:fs/promises';
import { Client } from 'pg';
import { MIGRATIONS_DIR, applyMigrations } from '@video-pipeline/db';
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

async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}
