import { Client } from 'pg';
import type { Logger } from '@video-pipeline/logging';
import { backoffDelayMs, type BackoffPolicy } from '@video-pipeline/retry';
import { connectionOptions } from './connection';

/** Reconnects soon after a blip, every 5 s in a long outage. */
const reconnectBackoff: BackoffPolicy = { initialMs: 250, maxMs: 5_000, multiplier: 2, jitter: 0.2 };

export interface ChannelListenerOptions {
  databaseUrl: string;
  /** The Postgres channel to LISTEN on. */
  channel: string;
  /** Names the listener in its log lines, e.g. `outbox listener`. */
  name: string;
  logger: Logger;
  /** Every NOTIFY on the channel, with its payload. */
  onNotification: (payload: string | undefined) => void;
  /** Each time the connection listens again: what was committed while it did not must be read now. */
  onListening: () => void;
}

/**
 * Holds one `LISTEN <channel>` connection and reconnects with back-off when
 * the database goes away. NOTIFY is lost while nobody listens, so every
 * (re)connection calls `onListening` for the caller to catch up.
 */
export class ChannelListener {
  private client?: Client;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly options: ChannelListenerOptions) {}

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
    const { name, logger } = this.options;
    const client = new Client(connectionOptions(this.options.databaseUrl));
    client.on('notification', (message) => this.options.onNotification(message.payload));
    client.on('error', (error) => {
      logger.warn({ err: error }, `${name} lost its connection; reconnecting`);
      this.reconnectLater(0);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
      // Stopped while this connection was being opened: stop() could not close it, so it is closed here.
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.options.onListening();
    } catch (error) {
      await client.end().catch(() => undefined);
      logger.warn({ err: error, attempt }, `${name} could not connect; retrying`);
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
