// Migrations without Prisma's native schema engine.
//   tsx libs/db/src/migrate-cli.ts deploy [--migrations-dir DIR] [--json]
//   tsx libs/db/src/migrate-cli.ts diff --name NAME [--allow-empty] [--schema FILE] [--migrations-dir DIR]
// DATABASE_URL names the database (deploy) or any database on the server (diff); unset, the one every
// service uses by default (libs/config: npm start's own Postgres), so `npm run migrate` works beside npm start.
// Logs go to stderr; `deploy --json` prints {"appliedMigrationNames":[...]} on stdout.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@video-pipeline/config';
import { diffMigration } from './diff-migration';
import { applyMigrationsInProcess } from './migrate';
import { MIGRATIONS_DIR, SCHEMA_PATH } from './paths';

const USAGE = `usage:
  migrate-cli deploy [--migrations-dir DIR] [--json]
  migrate-cli diff --name NAME [--allow-empty] [--schema FILE] [--migrations-dir DIR]
DATABASE_URL names the database (default: npm start's own, as for every service).`;

function logToStderr(message: string): void {
  process.stderr.write(`[migrate] ${message}\n`);
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'migrations-dir': { type: 'string', default: MIGRATIONS_DIR },
      schema: { type: 'string', default: SCHEMA_PATH },
      name: { type: 'string' },
      'allow-empty': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || (command !== 'deploy' && command !== 'diff')) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  // Only DATABASE_URL is read: the rest of the environment (a test's, say) is none of this tool's business.
  const databaseUrl = loadConfig({ DATABASE_URL: process.env['DATABASE_URL'] }, 'migrate').database.url;
  const migrationsDir = path.resolve(values['migrations-dir']);

  if (command === 'deploy') {
    const result = await applyMigrationsInProcess({ databaseUrl, migrationsDir, log: logToStderr });
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (!values.name) throw new Error('diff needs --name NAME');
  await diffMigration({
    databaseUrl,
    migrationsDir,
    schemaPath: path.resolve(values.schema),
    name: values.name,
    allowEmpty: values['allow-empty'],
    log: logToStderr,
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // The message is enough: engine errors carry their own trace, and their JS stack is wasm glue.
  logToStderr(error instanceof Error ? `${error.name}: ${error.message}` : `failed: ${String(error)}`);
  process.exitCode = 1;
});
