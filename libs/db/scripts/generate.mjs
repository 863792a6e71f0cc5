#!/usr/bin/env node
// Generates the Prisma client (libs/db/src/generated) from prisma/schema.prisma.
// Run by the installer after `npm ci`; skips when the client is newer than the schema
// (pass --force to regenerate anyway).
//
// The prisma CLI downloads a native schema engine before `generate`, and that download is
// not possible everywhere. `generate` never runs the engine, so point
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file (this Node binary) to skip the download.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const schemaPath = path.join(repoRoot, 'prisma/schema.prisma');
const generatedClient = path.join(repoRoot, 'libs/db/src/generated/client.ts');

function modifiedAtMs(file) {
  try {
    return statSync(file).mtimeMs;
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

function isUpToDate() {
  const generatedAt = modifiedAtMs(generatedClient);
  return generatedAt !== null && generatedAt >= modifiedAtMs(schemaPath);
}

if (!process.argv.includes('--force') && isUpToDate()) {
  console.log('[db] Prisma client is up to date (libs/db/src/generated); skipping prisma generate');
  process.exit(0);
}

const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');
const startedAt = Date.now();
const result = spawnSync(process.execPath, [prismaCli, 'generate'], {
  cwd: repoRoot, // where prisma.config.ts is
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1', // no version-check request to Prisma's servers
  },
});
if (result.error) throw result.error;
if (result.status !== 0) {
  console.error(`[db] prisma generate failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status ?? 1);
}
console.log(`[db] generated Prisma client in ${Date.now() - startedAt} ms`);
