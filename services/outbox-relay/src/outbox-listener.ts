import { Client } from 'pg';
import { connectionOptions } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';
import { backoffDelayMs, type BackoffPolicy } from '@video-pipeline/retry';

export const OUTBOX_CHANNEL = 'outbox_events';

/** Reconnects soon after a blip, every 5 s in a long outage. */
const reconnectBackoff: BackoffPolicy = { initialMs: 250, maxMs: 5_000, multiplier: 2, jitter: 0.2 };

/**
 * Holds a `LISTEN outbox_events` connection and calls `onNotify` for every
 * commit that inserted outbox rows. Reconnects with backoff if the database
 * goes away; meanwhile the relay's poll keeps events flowing, only slower.
 */
export class OutboxListener {
  private client?: Client;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly databaseUrl: string,
    private readonly onNotify: () => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connect(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(attempt: number): Promise<void> {
    if (this.stopped) return;
    const client = new Client(connectionOptions(this.databaseUrl));
    client.on('notification', () => this.onNotify());
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'outbox listener lost its connection; reconnecting');
      this.reconnectLater(0);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.client = client;
      // Rows committed while we were not listening would otherwise wait for the next poll.
      this.onNotify();
    } catch (error) {
      await client.end().catch(() => undefined);
      this.logger.warn({ err: error, attempt }, 'outbox listener could not connect; retrying');
      this.reconnectLater(attempt + 1);
    }
  }

  private reconnectLater(attempt: number): void {
    if (this.stopped) return;
    const old = this.client;
    this.client = undefined;
    void old?.end().catch(() => undefined);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(attempt), backoffDelayMs(reconnectBackoff, attempt + 1));
  }
}
