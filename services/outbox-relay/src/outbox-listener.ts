import { ChannelListener } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';

export const OUTBOX_CHANNEL = 'outbox_events';

/**
 * Holds a `LISTEN outbox_events` connection and calls `onNotify` for every
 * commit that inserted outbox rows. Reconnects with backoff if the database
 * goes away; meanwhile the relay's poll keeps events flowing, only slower.
 */
export class OutboxListener extends ChannelListener {
  constructor(databaseUrl: string, onNotify: () => void, logger: Logger) {
    super({
      databaseUrl,
      channel: OUTBOX_CHANNEL,
      name: 'outbox listener',
      logger,
      onNotification: onNotify,
      // Rows committed while we were not listening would otherwise wait for the next poll.
      onListening: onNotify,
    });
  }
}
