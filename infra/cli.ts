import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type PipelineConfig } from '@video-pipeline/config';
import { consumerGroups, type ConsumerGroupName } from '@video-pipeline/events';
import { retry } from '@video-pipeline/retry';
import { devApiKey, devPlaybackTokenSecret } from './pipeline/dev-api-key';
import { claimDataDir, releaseDataDir, runFiles } from './pipeline/leftovers';
import { setupPipeline } from './pipeline/setup';
import { formatLogLine } from './pipeline/log-format';
import { assertServicePortsFree, healthPortAllocator, probeHost } from './pipeline/service-ports';
import { waitForServices } from './pipeline/service-readiness';
import { Supervisor, type ServiceSpec } from './pipeline/supervisor';
import { ensureWebAppBuilt } from './web-app';
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

/** Every service's readiness, all together, may take this long on a first start (tsx compiles each on a shared CPU). */
const SERVICES_READY_TIMEOUT_MS = 180_000;
/** A service that exits this often before it is ready will not be: npm start gives up. */
const MAX_CRASHES_BEFORE_READY = 3;

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { instances: { type: 'string', multiple: true } } });
  const instances = parseInstances([...(process.env.PIPELINE_INSTANCES?.split(',') ?? []), ...(values.instances ?? [])]);

  const stackOptions = devStack(process.env);
  const { dataDir } = stackOptions;
  // The API's address and every health port are known before the stack starts: we refuse at once if another program holds one.
  const { api } = loadConfig(process.env, 'pipeline');
  const stackPorts = [stackOptions.kafka?.port, stackOptions.kafka?.controllerPort, stackOptions.s3?.port, stackOptions.postgres?.port, api.port];
  const services = await planServices(instances, healthPortAllocator(metricsPortFrom(process.env), stackPorts));
  await claimDataDir(dataDir, log);

  const supervisor = new Supervisor((name, line) => process.stdout.write(`${formatLogLine(name, line)}\n`), { pidDir: runFiles(dataDir).servicePidDir });
  // We stop things in order ourselves, services first, then the stack; a signal
  // during start-up stops whatever has started so far.
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log(`${reason}: stopping services, then the stack`);
      await supervisor.stop();
      await stopAllServers();
      releaseDataDir(dataDir);
      log('stopped');
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal).then(() => process.exit(0)));

  try {
    await assertServicePortsFree(api, services);
    await ensureWebAppBuilt(log);
    const stack = await startStack({ ...stackOptions, handleSignals: false });
    const apiKey = process.env.API_KEYS ? undefined : await devApiKey(dataDir);
    const playbackTokenSecret = process.env.PLAYBACK_TOKEN_SECRET ? undefined : await devPlaybackTokenSecret(dataDir);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...stack.env,
      ...(apiKey ? { API_KEYS: `${apiKey}:dev` } : {}),
      ...(playbackTokenSecret ? { PLAYBACK_TOKEN_SECRET: playbackTokenSecret } : {}),
    };
    await setupPipeline(loadConfig(env, 'pipeline'), log);

    const specs: ServiceSpec[] = services.map(({ name, service, healthPort }) => ({
      name,
      service,
      env: { ...env, ...(healthPort === undefined ? {} : { METRICS_PORT: String(healthPort) }) },
    }));
    for (const spec of specs) supervisor.start(spec);
    await waitForServices(
      supervisor,
      services.map(({ name, healthPort }) => ({ name, url: healthPort === undefined ? `http://${probeHost(api.host)}:${api.port}/readyz` : `http://127.0.0.1:${healthPort}/readyz` })),
      { timeoutMs: SERVICES_READY_TIMEOUT_MS, maxCrashes: MAX_CRASHES_BEFORE_READY },
    );
    // The analytics workers' /metrics serve the pipeline's numbers (beside their own figures): the banner names them.
    const analyticsPorts = services.flatMap(({ service, healthPort }) => (service === 'analytics' && healthPort !== undefined ? [healthPort] : []));
    printBanner(`http://${api.host}:${api.port}`, apiKey, specs, stack, env.DATABASE_URL, analyticsPorts);
  } catch (error) {
    await stop('start-up failed');
    throw error;
  }
  await new Promise(() => undefined); // run until a signal stops us
  return 0;
}

interface PlannedService {
  name: string;
  /** Folder under services/. */
  service: string;
  /** Where it serves /readyz and /metrics (METRICS_PORT); the upload API has none, it answers on PORT. */
  healthPort?: number;
}

/** The upload API, each worker (as many as asked per group) and the relay, in that order, with their health ports. */
async function planServices(instances: Record<ConsumerGroupName, number>, healthPorts: { next(): Promise<number> }): Promise<PlannedService[]> {
  const workers = consumerGroups.flatMap((group) =>
    Array.from({ length: instances[group] }, (_, index) => ({ name: instances[group] > 1 ? `${group}#${index + 1}` : group, service: group })),
  );
  const planned: PlannedService[] = [{ name: 'upload-api', service: 'upload-api' }];
  // Workers take the first health ports (9400 up, as before the relay had one), the relay the next.
  for (const worker of [...workers, { name: 'outbox-relay', service: 'outbox-relay' }]) planned.push({ ...worker, healthPort: await healthPorts.next() });
  return planned;
}

/** For containers that start together: dependencies may take a while to answer. */
async function setupWhenReachable(config: PipelineConfig, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await retry(() => setupPipeline(config, log), {
    attempts: Infinity,
    backoff: { initialMs: 1_000, maxMs: 5_000, multiplier: 2, jitter: 0 },
    retriable: () => Date.now() <= deadline,
    onRetry: (error, attempt) => log(`setup attempt ${attempt} failed (${(error as Error).message}); retrying`),
  });
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

/** Where services' health ports start: METRICS_PORT, 9400 by default; 0 for any free ones. */
function metricsPortFrom(env: NodeJS.ProcessEnv): number {
  return env.METRICS_PORT === '0' ? 0 : portFrom(env, 'METRICS_PORT', 9400);
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

function printBanner(apiUrl: string, apiKey: string | undefined, specs: ServiceSpec[], stack: Stack, databaseUrl: string | undefined, analyticsPorts: number[]): void {
  const lines = [
    '',
    '  Video pipeline is running',
    `  Web app      ${apiUrl}/   (sign in with ${apiKey ? 'the API key below' : 'one of your API_KEYS'})`,
    `  API          ${apiUrl}`,
    apiKey ? `  API key      ${apiKey}   (owner "dev"; set API_KEYS=key:owner,... to use your own)` : '  API keys     from API_KEYS',
    `  Kafka        ${stack.env.KAFKA_BROKERS}`,
    `  S3           ${stack.env.S3_ENDPOINT}`,
    `  Postgres     ${databaseUrl ? withoutPassword(databaseUrl) : '?'}   (${stack.postgres ? `the stack's own, data in ${stack.postgres.dataDir}` : 'DATABASE_URL'})`,
    `  Services     ${specs.map((spec) => spec.name).join(', ')}`,
    ...analyticsPorts.map((port) => `  Analytics    http://127.0.0.1:${port}/metrics   (the pipeline's numbers as Prometheus gauges)`),
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
