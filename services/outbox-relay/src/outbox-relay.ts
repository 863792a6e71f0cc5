import type { Producer } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Prisma, PrismaClient } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';
import { backoffDelayMs, type BackoffPolicy } from '@video-pipeline/retry';
import type { TopicCheck } from './broker-topics';
import { Wakeup } from './wakeup';

export interface OutboxRelayOptions {
  /** Most rows published per transaction. */
  batchSize: number;
  /** Longest wait between polls when no notification arrives. */
  pollIntervalMs: number;
  /** The wait after a failed publish (Kafka or the database down), growing while failures last; a NOTIFY cuts it short. */
  backoff: BackoffPolicy;
}

export const defaultRelayOptions: OutboxRelayOptions = { batchSize: 500, pollIntervalMs: 1_000, backoff: { initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 0.2 } };

interface OutboxRow {
  position: bigint;
  id: string;
  topic: string;
  key: string;
  headers: Record<string, string>;
  payload: unknown;
}

/**
 * Publishes committed outbox rows to Kafka and marks them published.
 *
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so several relays share the
 * work without publishing a row twice at the same time; a row whose video has
 * an earlier unpublished row claimed elsewhere is left for later, which keeps
 * each video's events in commit order. Publishing happens before the row is
 * marked, so a crash in between republishes it: delivery is at-least-once,
 * and the stable event id (ce_id) lets consumers drop the duplicate.
 *
 * A row it can never publish, because its topic does not exist (the relay
 * creates no topics) or the broker refuses it for good (too large), is
 * parked instead (`outbox_parked`, with why; logged and counted) in the
 * batch's transaction, and no longer holds up anything: the rows after it,
 * its video's included, go on in order.
 */
export class OutboxRelay {
  private readonly wakeup = new Wakeup();
  private stopped = false;
  private running?: Promise<void>;
  private producerConnected = false;
  private readonly parkedRows: Counter<'topic'>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly producer: Producer,
    private readonly topics: TopicCheck,
    private readonly logger: Logger,
    private readonly options: OutboxRelayOptions = defaultRelayOptions,
    registry?: Registry,
  ) {
    this.parkedRows = new Counter({ name: 'pipeline_outbox_events_parked_total', help: 'Outbox rows parked unpublished: their topic does not exist, or the broker refuses them for good.', labelNames: ['topic'], registers: registry ? [registry] : [] });
    producer.on(producer.events.DISCONNECT, () => {
      this.producerConnected = false;
    });
  }

  /** Call on every NOTIFY from the outbox trigger. */
  wake(): void {
    this.wakeup.wake();
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Finishes the batch in flight, then returns. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup.wake();
    await this.running;
    if (this.producerConnected) await this.producer.disconnect();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const published = await this.publishBatch();
        failures = 0;
        // A full batch means more may be waiting: go again at once.
        if (published < this.options.batchSize) await this.wakeup.wait(this.options.pollIntervalMs);
      } catch (error) {
        failures += 1;
        const backoffMs = backoffDelayMs(this.options.backoff, failures);
        this.logger.warn({ err: error, failures, backoffMs }, 'could not publish outbox events; they stay in the outbox and will be retried');
        await this.wakeup.wait(backoffMs);
      }
    }
  }

  /** Publishes one batch; returns how many rows it published. */
  async publishBatch(): Promise<number> {
    if (!this.producerConnected) {
      await this.producer.connect();
      this.producerConnected = true;
    }
    let claimed: OutboxRow[] = [];
    try {
      return await this.prisma.$transaction(
        async (tx) => {
          claimed = await tx.$queryRaw<OutboxRow[]>`
            WITH claimed AS (
              SELECT position, id, topic, key, headers, payload
              FROM outbox_events
              WHERE published_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM outbox_parked parked WHERE parked.position = outbox_events.position)
              ORDER BY position
              LIMIT ${this.options.batchSize}
              FOR UPDATE SKIP LOCKED
            )
            SELECT c.position, c.id::text AS id, c.topic, c.key, c.headers, c.payload
            FROM claimed c
            WHERE NOT EXISTS (
              SELECT 1 FROM outbox_events earlier
              WHERE earlier.key = c.key
                AND earlier.published_at IS NULL
                AND earlier.position < c.position
                AND earlier.position NOT IN (SELECT position FROM claimed)
                AND NOT EXISTS (SELECT 1 FROM outbox_parked parked WHERE parked.position = earlier.position)
            )
            ORDER BY c.position`;
          if (claimed.length === 0) return 0;

          const missing = new Set(await this.topics.missing(claimed.map((row) => row.topic)));
          for (const row of claimed) if (missing.has(row.topic)) await this.park(tx, row, `topic ${row.topic} does not exist; the relay does not create topics`);
          const publishable = await this.send(tx, claimed.filter((row) => !missing.has(row.topic)));
          await tx.$executeRaw`
            UPDATE outbox_events
            SET published_at = now(), publish_attempts = publish_attempts + 1, last_error = NULL
            WHERE position = ANY(${publishable.map((row) => row.position)}::bigint[])`;
          this.logger.debug({ count: publishable.length }, 'published outbox events');
          return claimed.length;
        },
        // The transaction spans a Kafka round trip; kafkajs' own retries are bounded well below this.
        { maxWait: 5_000, timeout: 60_000 },
      );
    } catch (error) {
      if (claimed.length > 0) await this.recordFailure(claimed, error);
      throw error;
    }
  }

  /**
   * Sends the rows in one batch; returns those sent. If the broker refuses
   * one of them for good (too large, invalid), that batch cannot go: the
   * rows go one by one, in order, and those refused are parked. (Rows of
   * other partitions that the refused request appended already come again:
   * at-least-once.)
   */
  private async send(tx: Prisma.TransactionClient, rows: OutboxRow[]): Promise<OutboxRow[]> {
    if (rows.length === 0) return rows;
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(rows) });
      return rows;
    } catch (error) {
      if (!refusedForGood(error)) throw error;
    }
    const sent: OutboxRow[] = [];
    for (const row of rows) {
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic([row]) });
        sent.push(row);
      } catch (error) {
        if (!refusedForGood(error)) throw error;
        await this.park(tx, row, `the broker refuses it for good: ${(error as Error).message}`);
      }
    }
    return sent;
  }

  /** Parks a row that can never be published: recorded with why, so the rows after it go on. */
  private async park(tx: Prisma.TransactionClient, row: OutboxRow, reason: string): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO outbox_parked (position, topic, reason) VALUES (${row.position}, ${row.topic}, ${reason}) ON CONFLICT DO NOTHING`;
    await tx.$executeRaw`
      UPDATE outbox_events SET publish_attempts = publish_attempts + 1, last_error = ${reason} WHERE position = ${row.position}`;
    this.parkedRows.inc({ topic: row.topic });
    this.logger.error({ position: String(row.position), eventId: row.id, topic: row.topic, key: row.key, reason }, 'outbox row parked: it can never be published');
  }

  private async recordFailure(rows: OutboxRow[], error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    await this.prisma.$executeRaw`
      UPDATE outbox_events SET publish_attempts = publish_attempts + 1, last_error = ${message}
      WHERE position = ANY(${rows.map((row) => row.position)}::bigint[]) AND published_at IS NULL`.catch((recordError: unknown) => {
      this.logger.warn({ err: recordError }, 'could not record the publish failure on the outbox rows');
    });
  }
}

/** The broker's answers that the same record would get again: it is too large, or not a valid record. */
const REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);
const refusedForGood = (error: unknown): boolean => REFUSALS.has((error as { type?: string } | undefined)?.type ?? '');

function groupByTopic(rows: OutboxRow[]) {
  const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
  for (const row of rows) {
    const messages = byTopic.get(row.topic) ?? [];
    messages.push({ key: row.key, value: JSON.stringify(row.payload), headers: row.headers });
    byTopic.set(row.topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
