import { loadConfig, type PipelineConfig } from '@video-pipeline/config';
import { STACK_PRESETS } from '../../infra/stack/presets';

/** Lets several test runs share a machine: each slot has its own ports, data and database. */
export const TEST_STACK_SLOT = Number(process.env.TEST_STACK_SLOT ?? 0);

/** A test database on a Postgres server of the caller's, instead of the test stack's own. */
export const EXTERNAL_TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

/** The tests' database: on the test stack's own Postgres (global-setup starts it), moved by the slot like its other ports. */
export const TEST_DATABASE_URL =
  EXTERNAL_TEST_DATABASE_URL ?? `postgresql://postgres@127.0.0.1:${STACK_PRESETS.test.postgres.port + 10 * TEST_STACK_SLOT}/${STACK_PRESETS.test.postgres.database}`;

/**
 * Configuration pointing at the test stack (set up by global-setup), with a
 * topic prefix of the test's own so its topics, consumer groups and
 * idempotency records never meet another test's.
 */
export function testConfig(prefix: string, overrides: NodeJS.ProcessEnv = {}): PipelineConfig {
  return loadConfig({ ...process.env, KAFKA_TOPIC_PREFIX: prefix, ...overrides }, 'test');
}

let counter = 0;

/** A short unique prefix, e.g. `t1a2b3-upload.` */
export function uniquePrefix(name: string): string {
  counter += 1;
  return `t${Date.now().toString(36)}${counter}-${name}.`;
}
