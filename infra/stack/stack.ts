import path from 'node:path';
import { ensureJars, printProgress } from './jars';
import { KafkaBroker, type KafkaBrokerOptions } from './kafka-server';
import { DATA_ROOT } from './paths';
import { installSignalHandlers } from './process';
import { S3ProxyServer, type S3ProxyOptions } from './s3proxy-server';

type ServerSettings<T> = Partial<Omit<T, 'dataDir' | 'classpath' | 'onProgress'>>;

export interface StackOptions {
  /** Kafka data goes to <dataDir>/kafka, S3 objects to <dataDir>/s3. Default <repo>/.data. */
  dataDir?: string;
  kafka?: ServerSettings<KafkaBrokerOptions>;
  s3?: ServerSettings<S3ProxyOptions>;
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
}

export interface Stack {
  kafka: KafkaBroker;
  s3: S3ProxyServer;
  env: StackEnv;
  stop(): Promise<void>;
}

/** Ports and folders of the two stacks that run side by side. */
export const STACK_PRESETS = {
  /** `npm start`: the usual ports. */
  dev: {
    dataDir: DATA_ROOT,
    kafka: { port: 9092, controllerPort: 9093 },
    s3: { port: 9000 },
  },
  /** Tests: separate ports and data, so they never touch the dev stack. */
  test: {
    dataDir: path.join(DATA_ROOT, 'test'),
    kafka: { port: 19092, controllerPort: 19093 },
    s3: { port: 19000 },
  },
} satisfies Record<string, StackOptions>;

/** Starts Kafka and S3Proxy (in parallel) and resolves when both answer. */
export async function startStack(options: StackOptions = STACK_PRESETS.dev): Promise<Stack> {
  const onProgress = options.onProgress ?? printProgress;
  const dataDir = path.resolve(options.dataDir ?? DATA_ROOT);
  const { kafkaClasspath, s3proxyClasspath } = await ensureJars({ onProgress });
  if (options.handleSignals ?? true) installSignalHandlers();

  const kafka = new KafkaBroker({ ...options.kafka, dataDir: path.join(dataDir, 'kafka'), classpath: kafkaClasspath, onProgress });
  const s3 = new S3ProxyServer({ ...options.s3, dataDir: path.join(dataDir, 's3'), classpath: s3proxyClasspath, onProgress });
  const stop = async (): Promise<void> => {
    await Promise.all([kafka.stop(), s3.stop()]);
  };

  const results = await Promise.allSettled([kafka.start(), s3.start()]);
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
  };
  return { kafka, s3, env, stop };
}
