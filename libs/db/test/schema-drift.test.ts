// schema.prisma and prisma/migrations must describe the same database: the diff from
// replaying the migrations to the schema is empty (so no forgotten `migrate-cli diff`, and
// the hand-written partial index is not seen as drift).
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MIGRATIONS_DIR } from '../src';
import { throwawayDatabaseUrl } from './database-fixture';

const MIGRATE_CLI = path.join(__dirname, '../src/migrate-cli.ts');

/** The CLI, in a child process: jest's sandbox cannot load the engine's ES-module glue. */
function runMigrateCli(args: string[], databaseUrl: string): Promise<{ exitCode: number | null; stderr: string }> {
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsxLoader, MIGRATE_CLI, ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stderr }));
  });
}

it('schema.prisma matches prisma/migrations', async () => {
  const scratchDir = await mkdtemp(path.join(tmpdir(), 'vp-migrations-'));
  try {
    await cp(MIGRATIONS_DIR, scratchDir, { recursive: true });
    // Only names the server: diff works in a shadow database of its own.
    const serverUrl = throwawayDatabaseUrl('unused');
    const { exitCode, stderr } = await runMigrateCli(
      ['diff', '--name', 'drift_check', '--migrations-dir', scratchDir],
      serverUrl,
    );
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: expect.stringContaining('no migration written') });
    expect(await readdir(scratchDir)).toEqual(await readdir(MIGRATIONS_DIR));
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
});
