import { sqlState, type PrismaClient } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';
import type { Random } from '@video-pipeline/retry';
import { retryDelayMs, sendWebhook, shouldDisable, signWebhook, type AttemptResult, type DeliveryPolicy, type TargetGuard } from '@video-pipeline/webhooks';

/** A claimed delivery, as the claim query returns it. */
export interface ClaimedDelivery {
  id: string;
  subscription_id: string;
  event_id: string;
  body: string;
  /** This attempt's number (the claim counted it). */
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

export interface AttemptDeps {
  prisma: PrismaClient;
  guard: TargetGuard;
  policy: DeliveryPolicy;
  logger: Logger;
  random: Random;
  now: () => number;
  agents?: Parameters<typeof sendWebhook>[0]['agents'];
}

/** One attempt of one claimed delivery: sign, send, and record what happened. */
export class DeliveryAttempt {
  constructor(
    private readonly delivery: ClaimedDelivery,
    private readonly deps: AttemptDeps,
  ) {}

  get subscriptionId(): string {
    return this.delivery.subscription_id;
  }

  /** Sends and records; a `signal` aborted by shutdown gives the attempt back uncounted, due at once. */
  async run(signal: AbortSignal): Promise<AttemptResult | undefined> {
    const { delivery, deps } = this;
    const started = new Date(deps.now());
    const headers = signWebhook({ id: delivery.event_id, body: delivery.body, timestamp: started }, this.secrets(started.getTime()));
    const result = await sendWebhook({ url: delivery.url, headers: { ...headers }, body: delivery.body, guard: deps.guard, timeoutMs: deps.policy.timeoutMs, signal, agents: deps.agents });
    if (signal.aborted && !result.ok) {
      await deps.prisma.webhookDelivery.updateMany({ where: { id: delivery.id }, data: { nextAttemptAt: started, attempts: { decrement: 1 } } });
      return undefined;
    }
    await this.record(started, result);
    return result;
  }

  /** The current secret, and the one before it during its grace period. */
  private secrets(now: number): string[] {
    const { secret, previous_secret: previous, previous_secret_expires_at: until } = this.delivery;
    return previous && until && until.getTime() > now ? [secret, previous] : [secret];
  }

  /**
   * One statement, so one round trip: the attempt's row, the delivery's new
   * state, and the endpoint's run of failures (reset by a success); then, in
   * the rare case the run is long enough, the endpoint disabled.
   */
  private async record(started: Date, result: AttemptResult): Promise<void> {
    const { delivery, deps } = this;
    const finished = new Date(deps.now());
    const delay = result.ok ? undefined : retryDelayMs(deps.policy, delivery.attempts, deps.random);
    const status = result.ok ? 'succeeded' : delay === undefined ? 'failed' : 'pending';
    const nextAttemptAt = status === 'pending' ? new Date(finished.getTime() + delay!) : null;
    const lastError = result.error ? `${result.error.code}: ${result.error.message}` : null;
    let runs: { consecutive_failures: number; failing_since: Date; enabled: boolean }[];
    try {
      runs = await deps.prisma.$queryRaw`
        WITH attempt AS (
          INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error_code, error_message)
          VALUES (${delivery.id}::uuid, ${delivery.attempts}, ${started}, ${result.statusCode}, ${result.latencyMs}, ${result.error?.code ?? null}, ${result.error?.message ?? null})
        ), updated AS (
          UPDATE webhook_deliveries SET status = ${status}::webhook_delivery_status, next_attempt_at = ${nextAttemptAt},
            finished_at = ${status === 'pending' ? null : finished}, last_status_code = ${result.statusCode}, last_error = ${lastError}
          WHERE id = ${delivery.id}::uuid
        )
        UPDATE webhook_subscriptions
        SET consecutive_failures = CASE WHEN ${result.ok} THEN 0 ELSE consecutive_failures + 1 END,
            failing_since = CASE WHEN ${result.ok} THEN NULL ELSE COALESCE(failing_since, ${started}) END
        WHERE id = ${delivery.subscription_id}::uuid AND (NOT ${result.ok} OR consecutive_failures > 0)
        RETURNING consecutive_failures, failing_since, enabled`;
    } catch (error) {
      // The subscription (and its deliveries) was deleted while we sent: nothing to record.
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) return;
      throw error;
    }
    const [run] = runs;
    if (result.ok || !run?.enabled || !shouldDisable(deps.policy, run.consecutive_failures, run.failing_since, finished.getTime())) return;
    const reason = `${run.consecutive_failures} attempts failed in a row since ${run.failing_since.toISOString()}; the last: ${lastError}`;
    await deps.prisma.webhookSubscription.updateMany({ where: { id: delivery.subscription_id, enabled: true }, data: { enabled: false, disabledAt: finished, disabledReason: reason } });
    deps.logger.warn({ subscriptionId: delivery.subscription_id, reason }, 'webhook endpoint disabled after a long run of failures');
  }
}

/** Postgres' foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = '23503';
