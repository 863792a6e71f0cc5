import fs from 'node:fs/promises';
import { dropDatabase } from '@video-pipeline/db';
import type { Stack } from '../../infra/stack';
import { EXTERNAL_TEST_DATABASE_URL } from './test-env';

/** Stops the test stack and leaves no database behind: its own Postgres' cluster goes, or the external test database. */
export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as { __pipelineTestStack?: Stack }).__pipelineTestStack;
  await stack?.stop();
  if (stack?.postgres) await fs.rm(stack.postgres.clusterDir, { recursive: true, force: true });
  if (EXTERNAL_TEST_DATABASE_URL) await dropDatabase(EXTERNAL_TEST_DATABASE_URL);
}
