import http from 'node:http';
import https from 'node:https';
import { loadConfig } from '@video-pipeline/config';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ChannelListener, createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { stopOnSignals } from '@video-pipeline/health';
import { createLogger, type Logger } from '@video-pipeline/logging';
import { systemClock, type Clock, type Random } from '@video-pipeline/retry';
import { LOST_ATTEMPT_CODE, TargetGuard, deliveryPolicyFrom, deliveryPolicyProblems, parseAllowedTargets, type AttemptResult, type DeliveryPolicy } from '@video-pipeline/webhooks';
import { DeliveryAttempt, type ClaimedDelivery } from './delivery-attempt';

/** The longest the loop waits for more slots to free up before it claims for the few that are. */
const BATCH_WAIT_MS = 20;
/** How long past an attempt's time limit its claim holds the delivery: a dispatcher that dies mid-attempt delays it by this much more. */
const LEASE_MARGIN_MS = 30_000;
const LOST_ATTEMPT_MESSAGE = 'the dispatcher sending this attempt stopped before it recorded an answer; whether the endpoint got it is unknown, so it is sent again';
/** The channel the deliveries' triggers NOTIFY when deliveries become due (new ones, retries asked for). */
export const WEBHOOK_DELIVERIES_CHANNEL = 'webhook_deliveries';

export interface WebhookDispatcherOptions {
  prisma: PrismaClient;
  guard: TargetGuard;
  policy: DeliveryPolicy;
  logger: Logger;
  /** Attempts in flight at once; one endpoint never has more than one of them. */
  concurrency?: number;
  /**
   * Wakes the loop on the deliveries' NOTIFY (new deliveries are sent at
   * once); without it, new ones wait for the next poll.
   */
  databaseUrl?: string;
  /** How often the table is looked at while idle: for retries coming due (new deliveries wake it, with databaseUrl). */
  pollMs?: number;
  /** Where its metrics go (attempts, their latency, deliveries due and in flight); the worker's /metrics serves it. */
  registry?: Registry;
  /** How long in-flight attempts get on `stop()` before they are aborted (and given back, due at once). */
  shutdownGraceMs?: number;
  /** How long past the attempt's time limit a claim holds its delivery (30 s). */
  leaseMarginMs?: number;
  clock?: Clock;
  random?: Random;
}

/**
 * Sends due webhook deliveries from the table, concurrently, one attempt per
 * endpoint at a time. Deliveries are claimed with `FOR UPDATE SKIP LOCKED`
 * and leased (their next attempt pushed past the attempt's time limit), so
 * several instances share the work and one that dies mid-attempt only
 * delays its deliveries by the lease. A slow or dead endpoint takes one slot
 * for at most the timeout, then waits for its next attempt by the schedule.
 */
export class WebhookDispatcher {
  private readonly inFlight = new Map<Promise<void>, string>();
  private readonly shutdown = new AbortController();
  /** Ends the current wait early: on stop, and when an attempt ends (its endpoint may have more due). */
  private wakeUp = new AbortController();
  private loop?: Promise<void>;
  private stopping = false;
  private readonly concurrency: number;
  private readonly claimBatch: number;
  private readonly pollMs: number;
  private readonly shutdownGraceMs: number;
  private readonly leaseMarginMs: number;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  /** A wake-up came while the loop was not sleeping: its next sleep returns at once. */
  private woken = false;
  private readonly listener?: ChannelListener;
  private readonly metrics?: DispatcherMetrics;

  constructor(private readonly options: WebhookDispatcherOptions) {
    const problems = deliveryPolicyProblems(options.policy);
    if (problems.length > 0) throw new Error(`invalid webhook delivery policy: ${problems.join('; ')}`);
    this.concurrency = options.concurrency ?? 32;
    this.claimBatch = Math.max(1, Math.floor(this.concurrency / 4));
    this.pollMs = options.pollMs ?? (options.databaseUrl ? 1_000 : 250);
    this.shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
    this.leaseMarginMs = options.leaseMarginMs ?? LEASE_MARGIN_MS;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    if (options.databaseUrl) {
      this.listener = new ChannelListener({
        databaseUrl: options.databaseUrl,
        channel: WEBHOOK_DELIVERIES_CHANNEL,
        name: 'webhook deliveries listener',
        logger: options.logger,
        onNotification: () => this.wake(),
        // Deliveries written while it was not listening are found by the next claim.
        onListening: () => this.wake(),
      });
    }
    if (options.registry) this.metrics = new DispatcherMetrics(options.registry, this);
  }

  start(): void {
    this.loop ??= this.run();
    // Not awaited: until it listens (or while the database is away) the loop polls.
    void this.listener?.start();
  }

  /** Attempts being sent now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Deliveries due now to enabled endpoints and not being sent (the backlog), for the metrics. */
  async dueCount(): Promise<number> {
    const [row] = await this.options.prisma.$queryRaw<{ due: bigint }[]>`
      SELECT count(*) AS due FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
      WHERE s.enabled AND d.status = 'pending' AND d.next_attempt_at <= ${new Date(this.clock.now())}`;
    return Number(row?.due ?? 0);
  }

  /** Stops claiming; lets attempts in flight finish within the grace period, then aborts them. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp.abort();
    await this.listener?.stop();
    await this.loop;
    const grace = setTimeout(() => this.shutdown.abort(), this.shutdownGraceMs);
    await Promise.allSettled(this.inFlight.keys());
    clearTimeout(grace);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.inFlight.size >= this.concurrency) {
          await Promise.race(this.inFlight.keys());
          continue;
        }
        // Claim in batches: one claim per finished attempt would make the claim query the bottleneck. But
        // never wait long for a batch: slots held by endpoints that hang must not hold up the free ones.
        const waitingForBatch = () => this.concurrency - this.inFlight.size < this.claimBatch && this.inFlight.size > 0;
        if (waitingForBatch()) {
          const waited = this.clock.sleep(BATCH_WAIT_MS).then(() => 'waited' as const);
          while (waitingForBatch() && (await Promise.race([...this.inFlight.keys(), waited])) !== 'waited');
        }
        const free = this.concurrency - this.inFlight.size;
        const claimed = free > 0 ? await this.claim(free) : [];
        for (const delivery of claimed) {
          if (delivery.lost_attempt) this.lost(delivery);
          this.send(delivery);
        }
        if (claimed.length === 0 || claimed.length === free) await this.idle(claimed.length === free);
      } catch (error) {
        this.options.logger.error({ err: error }, 'could not claim webhook deliveries; trying again');
        await this.sleep(Math.max(this.pollMs, 1_000));
      }
    }
  }

  /** Waits for a slot to free up (when full), or for the next poll. */
  private async idle(full: boolean): Promise<void> {
    if (full && this.inFlight.size > 0) await Promise.race(this.inFlight.keys());
    else await this.sleep(this.pollMs);
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopping) return;
    if (this.woken) {
      this.woken = false;
      return;
    }
    this.wakeUp = new AbortController();
    await this.clock.sleep(ms, this.wakeUp.signal).catch(() => undefined);
    this.woken = false;
  }

  /** Ends the current wait, or the next one if the loop is busy (a claim in flight may not have seen what woke it). */
  private wake(): void {
    this.woken = true;
    this.wakeUp.abort();
  }

  /**
   * Claims up to `limit` due deliveries of enabled subscriptions, at most one
   * per endpoint and none of an endpoint this instance is sending to, and
   * leases them past the attempt's time limit. A claimed delivery whose last
   * claim left no attempt row was leased by a dispatcher that died before it
   * recorded the answer: the same statement logs that attempt as lost (when
   * it was claimed, no answer, `webhook_attempt_lost`), so the owner's log
   * and the attempt count agree. It is not counted against the endpoint: the
   * endpoint may well have answered.
   */
  private async claim(limit: number): Promise<(ClaimedDelivery & { lost_attempt: boolean })[]> {
    const now = new Date(this.clock.now());
    const leaseUntil = new Date(now.getTime() + this.options.policy.timeoutMs + this.leaseMarginMs);
    const busy = [...new Set(this.inFlight.values())];
    return this.options.prisma.$queryRaw<(ClaimedDelivery & { lost_attempt: boolean })[]>`
      WITH candidates AS (
        SELECT DISTINCT ON (d.subscription_id) d.id, d.next_attempt_at
        FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= ${now} AND s.enabled AND NOT (d.subscription_id = ANY(${busy}::uuid[]))
        ORDER BY d.subscription_id, d.next_attempt_at
      ), due AS (
        SELECT d.id, d.attempts AS previous_attempt, d.claimed_at AS previous_claimed_at, d.next_attempt_at AS previous_lease_end
        FROM webhook_deliveries d JOIN candidates c ON c.id = d.id
        WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
        ORDER BY c.next_attempt_at
        LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED
      ), lost AS (
        INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error_code, error_message)
        -- Started when it was claimed (a claim from before claimed_at existed: its lease's end is all we know).
        SELECT due.id, due.previous_attempt, COALESCE(due.previous_claimed_at, due.previous_lease_end), NULL, NULL, ${LOST_ATTEMPT_CODE}, ${LOST_ATTEMPT_MESSAGE}
        FROM due
        WHERE due.previous_attempt > 0
          AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = due.id AND a.attempt = due.previous_attempt)
        -- A dispatcher that outlived its lease may record its answer at the same moment: its row wins, and one that comes later replaces this one.
        ON CONFLICT DO NOTHING
        RETURNING delivery_id
      )
      UPDATE webhook_deliveries d SET next_attempt_at = ${leaseUntil}, claimed_at = ${now}, attempts = d.attempts + 1
      FROM due, webhook_subscriptions s
      WHERE d.id = due.id AND s.id = d.subscription_id
      RETURNING d.id::text, d.subscription_id::text, d.event_id::text, d.body, d.attempts, d.next_attempt_at AS lease_until, s.url, s.secret, s.previous_secret, s.previous_secret_expires_at,
        EXISTS (SELECT 1 FROM lost WHERE lost.delivery_id = d.id) AS lost_attempt`;
  }

  private lost(delivery: ClaimedDelivery): void {
    this.metrics?.lost();
    this.options.logger.warn({ deliveryId: delivery.id, attempt: delivery.attempts - 1 }, 'webhook attempt lost with the dispatcher that was sending it; sending it again');
  }

  private send(delivery: ClaimedDelivery): void {
    const { prisma, guard, policy, logger } = this.options;
    const attempt = new DeliveryAttempt(delivery, { prisma, guard, policy, logger, random: this.random, now: () => this.clock.now(), agents: this.agents });
    const running: Promise<void> = attempt
      .run(this.shutdown.signal)
      .then((result) => {
        if (result) this.metrics?.attempted(result);
        if (result && !result.ok) logger.info({ deliveryId: delivery.id, attempt: delivery.attempts, error: result.error, statusCode: result.statusCode }, 'webhook attempt failed');
      })
      .catch((error: unknown) => logger.error({ err: error, deliveryId: delivery.id }, 'could not record a webhook attempt; it is tried again when its lease ends'))
      .finally(() => {
        this.inFlight.delete(running);
        this.wake();
      });
    this.inFlight.set(running, delivery.subscription_id);
  }
}

/** The dispatcher's figures, for operators: how attempts go, and the backlog. */
class DispatcherMetrics {
  private readonly attempts: Counter<'outcome'>;
  private readonly latency: Histogram;

  constructor(registry: Registry, dispatcher: WebhookDispatcher) {
    this.attempts = new Counter({
      name: 'webhook_attempts_total',
      help: 'Webhook delivery attempts, by outcome: delivered, the failure (webhook_http_status, webhook_timeout, webhook_connection_failed, ...), or webhook_attempt_lost (its dispatcher died before the answer)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'webhook_attempt_duration_seconds',
      help: 'Time from sending a webhook to its answer (or failure)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    new Gauge({
      name: 'webhook_deliveries_in_flight',
      help: 'Webhook attempts being sent by this instance',
      registers: [registry],
      collect() {
        this.set(dispatcher.inFlightCount);
      },
    });
    new Gauge({
      name: 'webhook_deliveries_due',
      help: 'Webhook deliveries due now to enabled endpoints and not being sent, all instances (the backlog)',
      registers: [registry],
      async collect() {
        this.set(await dispatcher.dueCount());
      },
    });
  }

  /** An attempt whose dispatcher died before it recorded the answer, found when its delivery was claimed again. */
  lost(): void {
    this.attempts.inc({ outcome: 'webhook_attempt_lost' });
  }

  attempted(result: AttemptResult): void {
    this.attempts.inc({ outcome: result.ok ? 'delivered' : (result.error?.code ?? 'failed') });
    this.latency.observe(result.latencyMs / 1000);
  }
}

/** The notifications service's dispatcher, from the environment, its metrics in `registry`; resolves once a signal stopped it. */
export async function runWebhookDispatcher(options: { registry?: Registry } = {}): Promise<void> {
  const config = loadConfig(process.env, 'notifications');
  const logger = createLogger('notifications', { level: config.logLevel }).child({ component: 'webhook-dispatcher' });
  const prisma = createPrismaClient({ databaseUrl: config.database.url });
  const dispatcher = new WebhookDispatcher({
    prisma,
    guard: new TargetGuard(parseAllowedTargets(config.webhooks.allowedTargets)),
    policy: deliveryPolicyFrom(config.webhooks),
    concurrency: config.webhooks.concurrency,
    databaseUrl: config.database.url,
    registry: options.registry,
    logger,
  });
  const stopped = stopOnSignals(logger, 'letting webhook attempts in flight finish', async () => {
    await dispatcher.stop();
    await prisma.$disconnect();
  });
  dispatcher.start();
  logger.info({ concurrency: config.webhooks.concurrency }, 'webhook dispatcher running');
  await stopped;
}
