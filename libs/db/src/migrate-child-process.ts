// Runs `migrate-cli.ts deploy` in a child Node process with tsx. Used where the wasm
// engine's ES-module glue cannot be loaded in-process (inside a jest test sandbox).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { ApplyMigrationsOptions, ApplyMigrationsResult } from './migrate';

const MIGRATE_CLI = path.join(__dirname, 'migrate-cli.ts');

export function applyMigrationsInChildProcess(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => undefined);
  // tsx's loader, registered with --import, so one process runs the TypeScript CLI.
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const args = ['--import', tsxLoader, MIGRATE_CLI, 'deploy', '--migrations-dir', options.migrationsDir, '--json'];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, DATABASE_URL: options.databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let lastStderrLine = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  // The CLI logs to stderr; pass its lines on as they come (e.g. "waiting for lock").
  createInterface({ input: child.stderr }).on('line', (line) => {
    lastStderrLine = line;
    log(line);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => {
      if (exitCode !== 0) {
        reject(new Error(`migrate-cli deploy exited with ${String(exitCode)}: ${lastStderrLine}`));
        return;
      }
      try {
        resolve(parseResult(stdout.trim().split('\n').at(-1) ?? ''));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function parseResult(line: string): ApplyMigrationsResult {
  const parsed: unknown = JSON.parse(line);
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    'appliedMigrationNames' in parsed &&
    Array.isArray(parsed.appliedMigrationNames)
  ) {
    return { appliedMigrationNames: parsed.appliedMigrationNames.map(String) };
  }
  throw new Error(`Unexpected output from migrate-cli deploy: ${line}`);
}
