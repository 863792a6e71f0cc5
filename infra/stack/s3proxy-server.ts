import fs from 'node:fs';
import path from 'node:path';
import { ListBucketsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { PortInUseError } from './errors';
import { ensureJars, printProgress } from './jars';
import { isPortOpen } from './net';
import { S3PROXY_LOGBACK_CONFIG } from './paths';
import { findPidFileProcess } from './pid-file';
import { tailFile } from './process';
import { LocalServer } from './local-server';
import { launchServer, stopOrphanedServer } from './server-launch';

export interface S3ProxyOptions {
  /** Everything of this server lives here, objects under blobs/. */
  dataDir: string;
  host?: string;
  port?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** What clients should sign with; S3Proxy accepts any. */
  region?: string;
  heapMb?: number;
  /** From ensureJars(); fetched when omitted. */
  classpath?: string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

/** Settings for `new S3Client(...)` pointing at this server. */
export interface S3ClientSettings {
  endpoint: string;
  region: string;
  forcePathStyle: true;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Error names an S3 server answers with when it is S3 but our keys are not its keys. */
const FOREIGN_CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied']);

/** S3Proxy with its filesystem backend: an S3 API over plain files. */
export class S3ProxyServer extends LocalServer {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  private readonly heapMb: number;
  private readonly startTimeoutMs: number;
  private readonly onProgress: (message: string) => void;
  private classpath: string | undefined;

  constructor(options: S3ProxyOptions) {
    super(options.stopTimeoutMs ?? 10_000);
    this.dataDir = path.resolve(options.dataDir);
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 9000;
    this.accessKeyId = options.accessKeyId ?? 'pipeline';
    this.secretAccessKey = options.secretAccessKey ?? 'pipeline-secret';
    this.region = options.region ?? 'us-east-1';
    this.heapMb = options.heapMb ?? 256;
    this.classpath = options.classpath;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.onProgress = options.onProgress ?? printProgress;
  }

  get endpoint(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Buckets are folders here, objects are files inside them. */
  get blobDir(): string {
    return path.join(this.dataDir, 'blobs');
  }

  get processLogFile(): string {
    return path.join(this.dataDir, 's3proxy.out.log');
  }

  clientSettings(): S3ClientSettings {
    return {
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
    };
  }

  private get propertiesFile(): string {
    return path.join(this.dataDir, 's3proxy.properties');
  }

  private get pidFile(): string {
    return path.join(this.dataDir, 's3proxy.pid');
  }

  /** Starts S3Proxy and resolves once ListBuckets succeeds with our credentials. */
  async start(): Promise<void> {
    if (this.running) return;
    this.classpath ??= (await ensureJars({ onProgress: this.onProgress })).s3proxyClasspath;
    await stopOrphanedServer('s3proxy', this.pidFile, this.propertiesFile, this.stopTimeoutMs, this.onProgress);
    await this.assertPortFree();

    // S3Proxy refuses to start when the basedir does not exist.
    fs.mkdirSync(this.blobDir, { recursive: true });
    fs.writeFileSync(this.propertiesFile, this.properties());

    this.process = await launchServer({
      service: 's3proxy',
      args: [
        `-Xms64m`,
        `-Xmx${this.heapMb}m`,
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        `-Dlogback.configurationFile=${S3PROXY_LOGBACK_CONFIG}`,
        '-cp',
        this.requireClasspath(),
        'org.gaul.s3proxy.Main',
        '--properties',
        this.propertiesFile,
      ],
      cwd: this.dataDir,
      logFile: this.processLogFile,
      pidFile: this.pidFile,
      address: this.endpoint,
      probe: () => this.listBuckets(1_500),
      probeIntervalMs: 250,
      startTimeoutMs: this.startTimeoutMs,
      logTail: () => tailFile(this.processLogFile, 30),
      onProgress: this.onProgress,
    });
  }

  private async listBuckets(timeoutMs: number): Promise<void> {
    const client = new S3Client({ ...this.clientSettings(), maxAttempts: 1 });
    try {
      await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
    } finally {
      client.destroy();
    }
  }

  private async assertPortFree(): Promise<void> {
    if (!(await isPortOpen(this.host, this.port))) return;
    const occupant = await this.identifyOccupant();
    const hints = {
      s3: 'a healthy S3 server that accepts our credentials already runs there, e.g. a stack started from another terminal. Use it, stop it, or choose another port.',
      's3-other-credentials': 'an S3 server runs there but rejects our credentials. Stop it or choose another port.',
      unknown: 'another program listens there. Stop it or choose another port.',
    } as const;
    throw new PortInUseError({
      service: 's3proxy',
      host: this.host,
      port: this.port,
      occupant,
      pid: findPidFileProcess(this.pidFile, this.propertiesFile)?.pid,
      hint: hints[occupant],
    });
  }

  private async identifyOccupant(): Promise<'s3' | 's3-other-credentials' | 'unknown'> {
    try {
      await this.listBuckets(3_000);
      return 's3';
    } catch (error) {
      if (error instanceof S3ServiceException && FOREIGN_CREDENTIAL_ERRORS.has(error.name)) return 's3-other-credentials';
      return 'unknown';
    }
  }

  private requireClasspath(): string {
    if (!this.classpath) throw new Error('s3proxy: classpath not resolved before use');
    return this.classpath;
  }

  private properties(): string {
    return `# Written by infra/stack/s3proxy-server.ts on every start; change it there.
s3proxy.endpoint=${this.endpoint}
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=${this.accessKeyId}
s3proxy.credential=${this.secretAccessKey}
# Browser uploads to presigned URLs from a local UI need CORS.
s3proxy.cors-allow-all=true
jclouds.provider=filesystem
jclouds.filesystem.basedir=${this.blobDir}
`;
  }
}
