import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@video-pipeline/config';
import { createKafka } from '@video-pipeline/kafka';
import { createLogger } from '@video-pipeline/logging';
import { rebuildAnalyticsCommand } from './commands/analytics-rebuild';
import { listGroups, showGroup } from './commands/groups';
import { replay, showDeadLetters } from './commands/dead-letters';
import { pruneProcessed } from './commands/prune';
import { resetOffsets } from './commands/reset-offsets';
import { sweepUploads } from './commands/sweep-uploads';
import { describeTopics } from './commands/topics';
import { showWaiting } from './commands/waiting';
import { RefusedError, UsageError, type OpsContext } from './context';
import { Output } from './output';

const usage = `usage: npm run ops -- <command> [options] [--json]

  groups                              every consumer group: state, members, lag
  group <group>                       one group's members, assignments and lag per partition
  topics                              declared topics: partitions, retention, records
  dlq <group> [--limit N]             the group's dead letters and why they failed
  waiting <group> [--release VIDEO ...]
                                      videos held behind an event in the retry tiers, and their queued events;
                                      --release empties those videos' queues (events gone from the tiers)
  replay <group> --event-id ID ...    send dead letters back to the group (idempotent)
                 --code CODE ...      ... those that failed with this error code
                 --all                ... all of them
  reset-offsets <group> --to earliest|latest|<ISO time> [--topic T]
                                      move the group's offsets (refused while it has members); moving a
                                      retry tier's releases the videos the group held
  prune <group> [--older-than DAYS]   delete the group's idempotency records of events processed over DAYS ago
                                      (default: its topics' longest retention + 5; fewer is refused)
  analytics-rebuild [--keep]          replay the video event topics from the beginning into a fresh group and compare
                                      its numbers with the live analytics group's (exit 1 when they differ)

  sweep-uploads                       remove unfinished uploads (tus, direct) past UPLOAD_EXPIRY_HOURS: their
                                      multipart uploads, partial data and records; safe beside running APIs.
                                      Also drops expired idempotency keys, and trims the event streams' change log of
                                      videos finished or deleted over CHANGE_LOG_RETENTION_HOURS (7 days) ago

  --json                              machine-readable output on stdout; progress stays on stderr
Connection settings come from the environment (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX; DATABASE_URL for waiting, prune and
analytics-rebuild; DATABASE_URL and S3_* for sweep-uploads).`;

export interface OpsIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function runOps(argv: string[], env: NodeJS.ProcessEnv = process.env, io: OpsIo = process): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      limit: { type: 'string' },
      'event-id': { type: 'string', multiple: true },
      code: { type: 'string', multiple: true },
      all: { type: 'boolean', default: false },
      to: { type: 'string' },
      topic: { type: 'string' },
      release: { type: 'string', multiple: true },
      'older-than': { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command) {
    io.stdout.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }

  const out = new Output(values.json, io.stdout, io.stderr);
  const config = loadConfig(env, 'ops');
  // The commands that use Postgres only: they work while Kafka is down.
  if (command === 'waiting') {
    await showWaiting({ config, out }, target, { release: values.release ?? [] });
    return 0;
  }
  if (command === 'sweep-uploads') {
    await sweepUploads({ config, out });
    return 0;
  }
  if (command === 'prune') {
    await pruneProcessed({ config, out }, target, { olderThan: values['older-than'] });
    return 0;
  }
  const kafka = createKafka(config.kafka, createLogger('ops', { level: 'error' }), { retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const context: OpsContext = { config, kafka, admin, out };
  try {
    switch (command) {
      case 'groups':
        await listGroups(context);
        break;
      case 'group':
        await showGroup(context, target);
        break;
      case 'topics':
        await describeTopics(context);
        break;
      case 'dlq':
        await showDeadLetters(context, target, { limit: values.limit === undefined ? undefined : parseLimit(values.limit) });
        break;
      case 'replay':
        await replay(context, target, { eventIds: values['event-id'] ?? [], codes: values.code ?? [], all: values.all });
        break;
      case 'analytics-rebuild':
        return await rebuildAnalyticsCommand(context, { keep: values.keep });
      case 'reset-offsets':
        await resetOffsets(context, target, { to: values.to, topic: values.topic });
        break;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${usage}`);
    }
    return 0;
  } finally {
    await admin.disconnect();
  }
}

function parseLimit(raw: string): number {
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
  return limit;
}

if (require.main === module) {
  runOps(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const exitCode = error instanceof UsageError || error instanceof ConfigError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : error instanceof RefusedError ? 3 : 1;
      process.stderr.write(`ops: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(exitCode);
    },
  );
}
