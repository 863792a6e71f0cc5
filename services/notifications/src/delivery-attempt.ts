import type { PrismaClient } from '@video-pipeline/db';
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

  private async record(started: Date, result: AttemptResult): Promise<void> {
    const { delivery, deps } = this;
    const finished = new Date(deps.now());
    const delay = result.ok ? undefined : retryDelayMs(deps.policy, delivery.attempts, deps.random);
    const status = result.ok ? 'succeeded' : delay === undefined ? 'failed' : 'pending';
    try {
      await deps.prisma.$transaction(async (tx) => {
        await tx.webhookAttempt.create({
          data: {
            deliveryId: delivery.id,
            attempt: delivery.attempts,
            startedAt: started,
            statusCode: result.statusCode,
            latencyMs: result.latencyMs,
            errorCode: result.error?.code ?? null,
            errorMessage: result.error?.message ?? null,
          },
        });
        await tx.webhookDelivery.update({
          where: { id: delivery.id },
          data: {
            status,
            nextAttemptAt: status === 'pending' ? new Date(finished.getTime() + delay!) : null,
            finishedAt: status === 'pending' ? null : finished,
            lastStatusCode: result.statusCode,
            lastError: result.error ? `${result.error.code}: ${result.error.message}` : null,
          },
        });
        if (result.ok) {
          await tx.webhookSubscription.updateMany({ where: { id: delivery.subscription_id, consecutiveFailures: { gt: 0 } }, data: { consecutiveFailures: 0, failingSince: null } });
          return;
        }
        const [run] = await tx.$queryRaw<{ consecutive_failures: number; failing_since: Date; enabled: boolean }[]>`
          UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1, failing_since = COALESCE(failing_since, ${started})
          WHERE id = ${delivery.subscription_id}::uuid RETURNING consecutive_failures, failing_since, enabled`;
        if (run?.enabled && shouldDisable(deps.policy, run.consecutive_failures, run.failing_since, finished.getTime())) {
          const reason = `${run.consecutive_failures} attempts failed in a row since ${run.failing_since.toISOString()}; the last: ${result.error!.code}: ${result.error!.message}`;
          await tx.webhookSubscription.update({ where: { id: delivery.subscription_id }, data: { enabled: false, disabledAt: finished, disabledReason: reason } });
          deps.logger.warn({ subscriptionId: delivery.subscription_id, reason }, 'webhook endpoint disabled after a long run of failures');
        }
      });
    } catch (error) {
      // P2003/P2025: the subscription (and its deliveries) was deleted while we sent.
      const code = (error as { code?: string }).code;
      if (code === 'P2003' || code === 'P2025') return;
      throw error;
    }
  }
}
