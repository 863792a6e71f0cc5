import { sqlState, type PrismaClient } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';
import type { Random } from '@video-pipeline/retry';
import { LOST_ATTEMPT_CODE, retryDelayMs, sendWebhook, shouldDisable, signWebhook, type AttemptResult, type DeliveryPolicy, type TargetGuard } from '@video-pipeline/webhooks';

/** A claimed delivery, as the claim query returns it. */
export interface ClaimedDelivery {
  id: string;
  subscription_id: string;
  event_id: string;
  body: string;
  /** This attempt's number (the claim counted it). */
  attempts: number;
  /** When this attempt's claim on the delivery ends: past it, another dispatcher may claim it again. */
  lease_until: Date;
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
      // Only while the delivery is still this attempt's: one that outlived its lease must not uncount a newer attempt.
      await deps.prisma.webhookDelivery.updateMany({ where: { id: delivery.id, attempts: delivery.attempts }, data: { nextAttemptAt: started, attempts: { decrement: 1 } } });
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
   *
   * An answer that comes after the lease ended may find the delivery claimed
   * again (a newer attempt counted, this one logged as lost). It then only
   * replaces the lost row with what the endpoint answered: the delivery's
   * state and the endpoint's run belong to the newer attempt, whose answer is
   * the more recent word (docs/webhooks-and-analytics.md).
   */
  private async record(started: Date, result: AttemptResult): Promise<void> {
    const { delivery, deps } = this;
    const finished = new Date(deps.now());
    const delay = result.ok ? undefined : retryDelayMs(deps.policy, delivery.attempts, deps.random);
    const status = result.ok ? 'succeeded' : delay === undefined ? 'failed' : 'pending';
    const nextAttemptAt = status === 'pending' ? new Date(finished.getTime() + delay!) : null;
    const lastError = result.error ? `${result.error.code}: ${result.error.message}` : null;
    let recorded: { current: boolean; consecutive_failures: number | null; failing_since: Date | null; enabled: boolean | null }[];
    try {
      recorded = await deps.prisma.$queryRaw`
        WITH updated AS (
          UPDATE webhook_deliveries SET status = ${status}::webhook_delivery_status, next_attempt_at = ${nextAttemptAt},
            finished_at = ${status === 'pending' ? null : finished}, last_status_code = ${result.statusCode}, last_error = ${lastError}
          WHERE id = ${delivery.id}::uuid AND attempts = ${delivery.attempts}
          RETURNING id
        ), attempt AS (
          INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error_code, error_message)
          VALUES (${delivery.id}::uuid, ${delivery.attempts}, ${started}, ${result.statusCode}, ${result.latencyMs}, ${result.error?.code ?? null}, ${result.error?.message ?? null})
          ON CONFLICT (delivery_id, attempt) DO UPDATE SET started_at = EXCLUDED.started_at, status_code = EXCLUDED.status_code,
            latency_ms = EXCLUDED.latency_ms, error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message
          WHERE webhook_attempts.error_code = ${LOST_ATTEMPT_CODE}
        ), run AS (
          UPDATE webhook_subscriptions
          SET consecutive_failures = CASE WHEN ${result.ok} THEN 0 ELSE consecutive_failures + 1 END,
              failing_since = CASE WHEN ${result.ok} THEN NULL ELSE COALESCE(failing_since, ${started}) END
          WHERE id = ${delivery.subscription_id}::uuid AND EXISTS (SELECT 1 FROM updated) AND (NOT ${result.ok} OR consecutive_failures > 0)
          RETURNING consecutive_failures, failing_since, enabled
        )
        SELECT EXISTS (SELECT 1 FROM updated) AS current, run.consecutive_failures, run.failing_since, run.enabled
        FROM (VALUES (1)) AS one LEFT JOIN run ON true`;
    } catch (error) {
      // The subscription (and its deliveries) was deleted while we sent: nothing to record.
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) return;
      throw error;
    }
    // Always one row: whether the delivery is still this attempt's, and the endpoint's run when this answer changed it.
    const run = recorded[0]!;
    if (finished > delivery.lease_until) this.answeredAfterLease(run.current, result);
    if (result.ok || !run.enabled || !shouldDisable(deps.policy, run.consecutive_failures!, run.failing_since!, finished.getTime())) return;
    const reason = `${run.consecutive_failures} attempts failed in a row since ${run.failing_since!.toISOString()}; the last: ${lastError}`;
    await deps.prisma.webhookSubscription.updateMany({ where: { id: delivery.subscription_id, enabled: true }, data: { enabled: false, disabledAt: finished, disabledReason: reason } });
    deps.logger.warn({ subscriptionId: delivery.subscription_id, reason }, 'webhook endpoint disabled after a long run of failures');
  }

  /** A dispatcher that outlives its leases stalls (CPU, pauses, a slow database): worth an operator's look before it sends twice. */
  private answeredAfterLease(current: boolean, result: AttemptResult): void {
    const { delivery, deps } = this;
    const fields = { deliveryId: delivery.id, attempt: delivery.attempts, leaseUntil: delivery.lease_until, statusCode: result.statusCode, error: result.error };
    if (current) deps.logger.info(fields, 'webhook answer came after its lease ended, before the delivery was claimed again: recorded as usual');
    else deps.logger.warn(fields, 'webhook answer came after its lease ended and a newer attempt was claimed: it replaces the lost attempt in the log; the delivery is left to the newer attempt');
  }
}

/** Postgres' foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = '23503';
