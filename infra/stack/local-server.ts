import type { ManagedProcess } from './process';

/**
 * What the stack's JVM servers (Kafka, S3Proxy) share once launched: their
 * process, and stopping, killing and restarting it. Data stays across all three.
 */
export abstract class LocalServer {
  protected process: ManagedProcess | undefined;

  protected constructor(protected readonly stopTimeoutMs: number) {}

  /** Launches the server and resolves once it serves requests; a no-op while it runs. */
  abstract start(): Promise<void>;

  get running(): boolean {
    return this.process?.running ?? false;
  }

  get pid(): number | undefined {
    return this.running ? this.process?.pid : undefined;
  }

  /** Graceful stop (SIGTERM); SIGKILL if it has not exited after stopTimeoutMs. */
  async stop(): Promise<void> {
    await this.process?.stop(this.stopTimeoutMs);
  }

  /** SIGKILL, like a crash. Data stays; the next start recovers it. */
  async kill(): Promise<void> {
    await this.process?.kill();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
