import path from 'node:path';
import { ensureJars, printProgress } from './jars';
import { KafkaBroker, type KafkaBrokerOptions } from './kafka-server';
import { DATA_ROOT } from './paths';
import { STACK_PRESETS } from './presets';
import { PostgresServer, type PostgresOptions } from './postgres-server';
import { installSignalHandlers } from './process';
import { S3ProxyServer, type S3ProxyOptions } from './s3proxy-server';

type ServerSettings<T> = Partial<Omit<T, 'dataDir' | 'classpath' | 'onProgress'>>;

export interface StackOptions {
  /** Kafka data goes to <dataDir>/kafka, S3 objects to <dataDir>/s3, Postgres' to <dataDir>/postgres. Default <repo>/.data. */
  dataDir?: string;
  kafka?: ServerSettings<KafkaBrokerOptions>;
  s3?: ServerSettings<S3ProxyOptions>;
  /** A Postgres of the stack's own, serving `database`; none when omitted (the services use DATABASE_URL's). */
  postgres?: ServerSettings<PostgresOptions> & { database: string };
  /** Progress lines; defaults to stderr. */
  onProgress?: (message: string) => void;
  /**
   * Stop the servers on SIGINT/SIGTERM/SIGHUP (default true). Pass false when
   * the program has its own shutdown order and calls stack.stop() itself.
   */
  handleSignals?: boolean;
}

/** Environment variables the services read, pointing at this stack. */
export interface StackEnv {
  KAFKA_BROKERS: string;
  S3_ENDPOINT: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  /** Only when the stack runs its own Postgres. */
  DATABASE_URL?: string;
}

export interface Stack {
  kafka: KafkaBroker;
  s3: S3ProxyServer;
  postgres: PostgresServer | undefined;
  env: StackEnv;
  stop(): Promise<void>;
}

/** Starts Kafka, S3Proxy and, if asked, Postgres (in parallel) and resolves when all answer. */
export async function startStack(options: StackOptions = STACK_PRESETS.dev): Promise<Stack> {
  const onProgress = options.onProgress ?? printProgress;
  const dataDir = path.resolve(options.dataDir ?? DATA_ROOT);
  const { kafkaClasspath, s3proxyClasspath } = await ensureJars({ onProgress });
  if (options.handleSignals ?? true) installSignalHandlers();

  const kafka = new KafkaBroker({ ...options.kafka, dataDir: path.join(dataDir, 'kafka'), classpath: kafkaClasspath, onProgress });
  const s3 = new S3ProxyServer({ ...options.s3, dataDir: path.join(dataDir, 's3'), classpath: s3proxyClasspath, onProgress });
  const postgres = options.postgres && new PostgresServer({ ...options.postgres, dataDir: path.join(dataDir, 'postgres'), onProgress });
  const stop = async (): Promise<void> => {
    await Promise.all([kafka.stop(), s3.stop(), postgres?.stop()]);
  };

  const results = await Promise.allSettled([kafka.start(), s3.start(), postgres?.start()]);
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }

  const env: StackEnv = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ...(postgres && options.postgres ? { DATABASE_URL: postgres.databaseUrl(options.postgres.database) } : {}),
  };
  return { kafka, s3, postgres, env, stop };
}
