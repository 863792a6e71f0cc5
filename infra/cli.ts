import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type PipelineConfig } from '@video-pipeline/config';
import { consumerGroups, type ConsumerGroupName } from '@video-pipeline/kafka';
import { devApiKey } from './pipeline/dev-api-key';
import { setupPipeline } from './pipeline/setup';
import { formatLogLine } from './pipeline/log-format';
import { Supervisor, type ServiceSpec } from './pipeline/supervisor';
import { STACK_PRESETS, ensureJars, installSignalHandlers, startStack, stopAllServers, type Stack, type StackOptions } from './stack';

const usage = `usage: npm start [-- --instances <group>=<n> ...]     the whole pipeline with its local stack
       npm run stack -- <command>

commands:
  start    start Kafka, S3 (s3proxy), Postgres (unless DATABASE_URL is set), migrations,
           topics, and every service; Ctrl-C stops all
           --instances <group>=<n>  run n instances of a consumer group (repeatable;
                                     also PIPELINE_INSTANCES=transcoder=2,thumbnailer=2)
  setup    apply migrations, create topics and the bucket against the configured services
  stack    start only Kafka, S3 (s3proxy) and Postgres (unless DATABASE_URL is set) on their
           dev ports, until Ctrl-C
  fetch    download the Kafka and s3proxy jars into the cache`;

const log = (message: string) => process.stdout.write(`pipeline: ${message}\n`);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'setup':
      await setupWhenReachable(loadConfig(process.env, 'setup'));
      return 0;
    case 'stack':
      return stackOnly();
    case 'fetch':
      await ensureJars();
      return 0;
    case 'help':
    case '--help':
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      process.stderr.write(`${command ? `unknown command "${command}"\n` : ''}${usage}\n`);
      return 2;
  }
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { instances: { type: 'string', multiple: true } } });
  const instances = parseInstances([...(process.env.PIPELINE_INSTANCES?.split(',') ?? []), ...(values.instances ?? [])]);

  const stackOptions = devStack(process.env);
  const metricsPorts = workerMetricsPorts(process.env);
  const supervisor = new Supervisor((name, line) => process.stdout.write(`${formatLogLine(name, line)}\n`));
  // We stop things in order ourselves, services first, then the stack; a signal
  // during start-up stops whatever has started so far.
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log(`${reason}: stopping services, then the stack`);
      await supervisor.stop();
      await stopAllServers();
      log('stopped');
    })();
    return stopping;
  };
  process.on('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));

  const stack = await startStack({ ...stackOptions, handleSignals: false });
  const apiKey = process.env.API_KEYS ? undefined : await devApiKey(stackOptions.dataDir);
  const env: NodeJS.ProcessEnv = { ...process.env, ...stack.env, ...(apiKey ? { API_KEYS: `${apiKey}:dev` } : {}) };
  const config = loadConfig(env, 'pipeline');

  try {
    await setupPipeline(config, log);
  } catch (error) {
    await stop('setup failed');
    throw error;
  }

  const specs: ServiceSpec[] = [
    { name: 'upload-api', service: 'upload-api', env },
    { name: 'outbox-relay', service: 'outbox-relay', env },
    ...consumerGroups.flatMap((group) =>
      Array.from({ length: instances[group] }, (_, index) => ({
        name: instances[group] > 1 ? `${group}#${index + 1}` : group,
        service: group,
        env: { ...env, METRICS_PORT: String(metricsPorts()) },
      })),
    ),
  ];
  for (const spec of specs) supervisor.start(spec);

  const apiUrl = `http://${config.api.host}:${config.api.port}`;
  await waitForReady(`${apiUrl}/readyz`, 90_000);
  printBanner(apiUrl, apiKey, specs, stack, env.DATABASE_URL);
  await new Promise(() => undefined); // run until a signal stops us
  return 0;
}

/** For containers that start together: dependencies may take a while to answer. */
async function setupWhenReachable(config: PipelineConfig, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await setupPipeline(config, log);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      log(`setup attempt ${attempt} failed (${(error as Error).message}); retrying`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000 * attempt, 5_000)));
    }
  }
}

/**
 * The local stack: the dev preset, unless STACK_DATA_DIR, STACK_KAFKA_PORT
 * (its controller takes the next port), STACK_S3_PORT or STACK_POSTGRES_PORT
 * move it, so that a second pipeline can run beside the first. It runs a
 * Postgres of its own unless DATABASE_URL names one.
 */
function devStack(env: NodeJS.ProcessEnv): StackOptions & { dataDir: string } {
  const preset = STACK_PRESETS.dev;
  const kafkaPort = portFrom(env, 'STACK_KAFKA_PORT', preset.kafka.port);
  return {
    dataDir: path.resolve(env.STACK_DATA_DIR || preset.dataDir),
    kafka: { port: kafkaPort, controllerPort: kafkaPort + 1 },
    s3: { port: portFrom(env, 'STACK_S3_PORT', preset.s3.port) },
    ...(env.DATABASE_URL ? {} : { postgres: { ...preset.postgres, port: portFrom(env, 'STACK_POSTGRES_PORT', preset.postgres.port) } }),
  };
}

/** Each worker's health and metrics port in turn: 9400 upward, or METRICS_PORT upward; 0 gives each any free port. */
function workerMetricsPorts(env: NodeJS.ProcessEnv): () => number {
  let next = env.METRICS_PORT === '0' ? 0 : portFrom(env, 'METRICS_PORT', 9400);
  return () => (next === 0 ? 0 : next++);
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_000) throw new ConfigError([`${name}: expected a port number (1..65000), got "${text}"`]);
  return port;
}

function parseInstances(pairs: string[]): Record<ConsumerGroupName, number> {
  const counts = Object.fromEntries(consumerGroups.map((group) => [group, 1])) as Record<ConsumerGroupName, number>;
  for (const pair of pairs.map((p) => p.trim()).filter(Boolean)) {
    const [group, count] = pair.split('=');
    const n = Number(count);
    if (!consumerGroups.includes(group as ConsumerGroupName) || !Number.isInteger(n) || n < 0 || n > 16) {
      throw new ConfigError([`--instances ${pair}: expected <group>=<0..16> with group one of ${consumerGroups.join(', ')}`]);
    }
    counts[group as ConsumerGroupName] = n;
  }
  return counts;
}

async function waitForReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = await response.text();
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log(`the upload API is not ready after ${timeoutMs / 1000}s (${last}); services keep starting, see the logs above`);
}

function printBanner(apiUrl: string, apiKey: string | undefined, specs: ServiceSpec[], stack: Stack, databaseUrl: string | undefined): void {
  const lines = [
    '',
    '  Video pipeline is running',
    `  API          ${apiUrl}`,
    apiKey ? `  API key      ${apiKey}   (owner "dev"; set API_KEYS=key:owner,... to use your own)` : '  API keys     from API_KEYS',
    `  Kafka        ${stack.env.KAFKA_BROKERS}`,
    `  S3           ${stack.env.S3_ENDPOINT}`,
    `  Postgres     ${databaseUrl ? withoutPassword(databaseUrl) : '?'}   (${stack.postgres ? `the stack's own, data in ${stack.postgres.dataDir}` : 'DATABASE_URL'})`,
    `  Services     ${specs.map((spec) => spec.name).join(', ')}`,
    '',
    '  Try:',
    `    curl -F file=@video.mp4 -F title=Hello -H "Authorization: Bearer ${apiKey ?? '<key>'}" ${apiUrl}/v1/videos`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function withoutPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password) url.password = '***';
  return url.toString();
}

async function stackOnly(): Promise<number> {
  installSignalHandlers();
  const stack = await startStack(devStack(process.env));
  log(`Kafka ${stack.env.KAFKA_BROKERS}, S3 ${stack.env.S3_ENDPOINT}${stack.env.DATABASE_URL ? `, Postgres ${stack.env.DATABASE_URL}` : ''}; Ctrl-C stops them`);
  await new Promise(() => undefined);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`pipeline: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAllServers().catch(() => undefined);
    process.exit(1);
  },
);
