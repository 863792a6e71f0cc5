import type { PrismaClient, WebhookAttempt, WebhookDelivery, WebhookSubscription } from '@video-pipeline/db';
import { newEventId } from '@video-pipeline/events';
import type { Cursor } from './cursor';
import { asOutage } from './video-repository';

export interface NewSubscription {
  ownerId: string;
  url: string;
  events: string[];
  secret: string;
}

export interface SubscriptionChanges {
  url?: string;
  events?: string[];
  enabled?: boolean;
}

export type DeliveryWithAttempts = WebhookDelivery & { attemptLog: WebhookAttempt[] };

/** The upload API's reads and writes of webhook subscriptions and their deliveries; every one is scoped to an owner. */
export class WebhookRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async create(subscription: NewSubscription): Promise<WebhookSubscription> {
    return this.prisma.webhookSubscription.create({ data: { id: newEventId(), ...subscription } }).catch(asOutage);
  }

  async find(ownerId: string, id: string): Promise<WebhookSubscription | null> {
    return this.prisma.webhookSubscription.findFirst({ where: { id, ownerId } }).catch(asOutage);
  }

  /** Newest first; `after` continues from the last item of a previous page. */
  async list(ownerId: string, limit: number, after?: Cursor): Promise<WebhookSubscription[]> {
    return this.prisma.webhookSubscription
      .findMany({
        where: { ownerId, ...(after && { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
      })
      .catch(asOutage);
  }

  /** Re-enabling (by the owner) forgets the run of failures and why it was disabled. */
  async update(ownerId: string, id: string, changes: SubscriptionChanges, now: Date): Promise<WebhookSubscription | null> {
    const enabling = changes.enabled === true ? { consecutiveFailures: 0, failingSince: null, disabledReason: null, disabledAt: null } : {};
    const disabling = changes.enabled === false ? { disabledAt: now, disabledReason: null } : {};
    const { count } = await this.prisma.webhookSubscription.updateMany({ where: { id, ownerId }, data: { ...changes, ...enabling, ...disabling } }).catch(asOutage);
    return count === 0 ? null : this.find(ownerId, id);
  }

  /** Deletes it with its deliveries; false if the owner has no such subscription. */
  async delete(ownerId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.webhookSubscription.deleteMany({ where: { id, ownerId } }).catch(asOutage);
    return count > 0;
  }

  /** The new secret signs from now on; the current one too, until `graceUntil`. */
  async rotateSecret(ownerId: string, id: string, secret: string, graceUntil: Date): Promise<WebhookSubscription | null> {
    return this.prisma
      .$transaction(async (tx) => {
        const current = await tx.webhookSubscription.findFirst({ where: { id, ownerId } });
        if (!current) return null;
        return tx.webhookSubscription.update({ where: { id }, data: { secret, previousSecret: current.secret, previousSecretExpiresAt: graceUntil } });
      })
      .catch(asOutage);
  }

  /** A delivery due now, outside any Kafka event (a test message). */
  async createDelivery(subscriptionId: string, message: { eventId: string; eventType: string; body: string }, now: Date): Promise<WebhookDelivery> {
    return this.prisma.webhookDelivery.create({ data: { id: newEventId(), subscriptionId, ...message, nextAttemptAt: now } }).catch(asOutage);
  }

  /** A subscription's deliveries newest first, each with its attempts. */
  async listDeliveries(subscriptionId: string, limit: number, after?: Cursor): Promise<DeliveryWithAttempts[]> {
    return this.prisma.webhookDelivery
      .findMany({
        where: { subscriptionId, ...(after && { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
        include: { attemptLog: { orderBy: { attempt: 'asc' } } },
      })
      .catch(asOutage);
  }

  /**
   * Makes a delivery due now again, whatever became of it; null if the subscription has no such delivery.
   * One being sent right now (claimed, its lease not over, its attempt not yet logged) is left as it is: it is
   * going out already, and making it due would have another dispatcher take it and log the attempt in flight as lost.
   */
  async retryDelivery(subscriptionId: string, deliveryId: string, now: Date): Promise<DeliveryWithAttempts | null> {
    await this.prisma.$executeRaw`
      UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = ${now}, finished_at = NULL
      WHERE d.id = ${deliveryId}::uuid AND d.subscription_id = ${subscriptionId}::uuid
        AND NOT (d.status = 'pending' AND d.attempts > 0 AND (d.next_attempt_at > ${now}) IS TRUE
          AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = d.id AND a.attempt = d.attempts))`.catch(asOutage);
    return this.prisma.webhookDelivery
      .findFirst({ where: { id: deliveryId, subscriptionId }, include: { attemptLog: { orderBy: { attempt: 'asc' } } } })
      .catch(asOutage);
  }
}
