import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import '@video-pipeline/kafka/src/request-queue-timer';
import { PortInUseError, ServerStartError } from './errors';
import { kafkaServerProperties, newClusterId } from './kafka-config';
import { ensureJars, printProgress } from './jars';
import { isPortOpen } from './net';
import { JAVA_INSTALL_HINT, KAFKA_LOG4J_CONFIG } from './paths';
import { findPidFileProcess } from './pid-file';
import { runTool, tailFile } from './process';
import { LocalServer } from './local-server';
import { launchServer, stopOrphanedServer } from './server-launch';

export interface KafkaBrokerOptions {
  /** Everything of this broker lives here; kept across restarts. */
  dataDir: string;
  host?: string;
  /** PLAINTEXT listener, the one clients use. */
  port?: number;
  /** KRaft controller listener; clients must not use it. */
  controllerPort?: number;
  /** JVM max heap. */
  heapMb?: number;
  /** From ensureJars(); fetched when omitted. */
  classpath?: string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

/**
 * A single-node KRaft Kafka broker (broker and controller in one JVM),
 * run from the jars that ensureJars() fetched.
 */
export class KafkaBroker extends LocalServer {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  private readonly heapMb: number;
  private readonly startTimeoutMs: number;
  private readonly onProgress: (message: string) => void;
  private classpath: string | undefined;

  constructor(options: KafkaBrokerOptions) {
    super(options.stopTimeoutMs ?? 30_000);
    this.dataDir = path.resolve(options.dataDir);
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 9092;
    this.controllerPort = options.controllerPort ?? 9093;
    this.heapMb = options.heapMb ?? 512;
    this.classpath = options.classpath;
    this.startTimeoutMs = options.startTimeoutMs ?? 90_000;
    this.onProgress = options.onProgress ?? printProgress;
  }

  /** Bootstrap servers for kafkajs: the PLAINTEXT listener. */
  get brokers(): string[] {
    return [`${this.host}:${this.port}`];
  }

  /** The JVM's stdout/stderr. Kafka's own WARN+ log is logs/server.log beside it. */
  get processLogFile(): string {
    return path.join(this.dataDir, 'broker.out.log');
  }

  get serverLogFile(): string {
    return path.join(this.dataDir, 'logs', 'server.log');
  }

  private get propertiesFile(): string {
    return path.join(this.dataDir, 'server.properties');
  }

  /** KRaft metadata and topic data (log.dirs). */
  get logDir(): string {
    return path.join(this.dataDir, 'kraft-logs');
  }

  private get pidFile(): string {
    return path.join(this.dataDir, 'broker.pid');
  }

  /** Starts the broker and resolves once a client can describe the cluster. */
  async start(): Promise<void> {
    if (this.running) return;
    this.classpath ??= (await ensureJars({ onProgress: this.onProgress })).kafkaClasspath;
    await stopOrphanedServer('kafka broker', this.pidFile, this.propertiesFile, this.stopTimeoutMs, this.onProgress);
    await this.assertPortsFree();

    fs.mkdirSync(path.join(this.dataDir, 'logs'), { recursive: true });
    fs.mkdirSync(this.logDir, { recursive: true });
    fs.writeFileSync(this.propertiesFile, kafkaServerProperties(this));
    await this.formatStorageOnce();

    this.process = await launchServer({
      service: 'kafka',
      args: [...this.jvmArgs(this.heapMb), 'kafka.Kafka', this.propertiesFile],
      cwd: this.dataDir,
      logFile: this.processLogFile,
      pidFile: this.pidFile,
      address: this.brokers[0]!,
      probe: () => probeKafka(this.host, this.port, 1_500, { groupCoordinator: true }),
      probeIntervalMs: 300,
      startTimeoutMs: this.startTimeoutMs,
      logTail: () => [tailFile(this.serverLogFile, 20), tailFile(this.processLogFile, 20)].filter(Boolean).join('\n---\n'),
      onProgress: this.onProgress,
    });
  }

  private async assertPortsFree(): Promise<void> {
    const owner = findPidFileProcess(this.pidFile, this.propertiesFile)?.pid;
    if (await isPortOpen(this.host, this.port)) {
      const clusterId = await probeKafka(this.host, this.port, 3_000).catch(() => undefined);
      throw new PortInUseError({
        service: 'kafka',
        host: this.host,
        port: this.port,
        occupant: clusterId ? 'kafka' : 'unknown',
        pid: owner,
        hint: clusterId
          ? `a healthy Kafka broker (cluster ${clusterId}) already runs there, e.g. a stack started from another terminal. Use it, stop it, or choose another port.`
          : 'another program listens there. Stop it or choose another port.',
      });
    }
    if (await isPortOpen(this.host, this.controllerPort)) {
      throw new PortInUseError({
        service: 'kafka-controller',
        host: this.host,
        port: this.controllerPort,
        occupant: 'unknown',
        pid: owner,
        hint: 'the KRaft controller port is taken (another broker or program). Stop it or choose another controllerPort.',
      });
    }
  }

  /** Formats the KRaft log dir on first start only; later starts reuse its data. */
  private async formatStorageOnce(): Promise<void> {
    if (fs.existsSync(path.join(this.logDir, 'meta.properties'))) return;
    const result = await runTool(
      'java',
      [...this.jvmArgs(256), 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', this.propertiesFile, '--ignore-formatted'],
      { cwd: this.dataDir, timeoutMs: 120_000, installHint: JAVA_INSTALL_HINT },
    );
    if (result.code !== 0) {
      throw new ServerStartError('STACK_STORAGE_FORMAT_FAILED', 'kafka', `formatting ${this.logDir} failed (exit ${result.code})`, result.output.trim().split('\n').slice(-20).join('\n'));
    }
  }

  private jvmArgs(heapMb: number): string[] {
    return [
      `-Xms${Math.min(256, heapMb)}m`,
      `-Xmx${heapMb}m`,
      // Kafka's own launcher defaults (kafka-run-class.sh).
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=${pathToFileURL(KAFKA_LOG4J_CONFIG).href}`,
      `-Dkafka.logs.dir=${path.join(this.dataDir, 'logs')}`,
      '-cp',
      this.requireClasspath(),
    ];
  }

  private requireClasspath(): string {
    if (!this.classpath) throw new Error('kafka: classpath not resolved before use');
    return this.classpath;
  }
}

/**
 * Cluster id if a Kafka broker answers DescribeCluster on host:port within
 * timeoutMs. With groupCoordinator, it must also serve consumer groups: the
 * lookup creates __consumer_offsets on a new broker, so the first consumer
 * of a test does not hit "group coordinator is not available".
 */
export async function probeKafka(host: string, port: number, timeoutMs: number, options: { groupCoordinator?: boolean } = {}): Promise<string | undefined> {
  const kafka = new Kafka({
    clientId: 'stack-probe',
    brokers: [`${host}:${port}`],
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) return undefined;
    if (options.groupCoordinator) await admin.describeGroups(['stack-readiness-probe']);
    return cluster.clusterId;
  } finally {
    await admin.disconnect();
  }
}
