import { z } from 'zod';
import type { WebhookSubscription } from '@video-pipeline/db';
import { eventTypes } from '@video-pipeline/events';
import type { Clock } from '@video-pipeline/retry';
import type { DeliveryPolicy, TargetGuard } from '@video-pipeline/webhooks';
import { encodeCursor } from './cursor';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './schemas';
import type { DeliveryWithAttempts, WebhookRepository } from './webhook-repository';

/** What the webhook routes need. */
export interface WebhookRouteDeps {
  repository: WebhookRepository;
  /** Judges URLs at subscription time (the notifications group judges them again at every connection). */
  guard: TargetGuard;
  policy: Pick<DeliveryPolicy, 'secretGraceMs'>;
  clock: Pick<Clock, 'now'>;
}

const MAX_URL_LENGTH = 2_048;

export const webhookUrl = z.string().max(MAX_URL_LENGTH, { error: `url is longer than ${MAX_URL_LENGTH} characters` }).meta({
  description: 'https (plain http only to targets `WEBHOOK_ALLOWED_TARGETS` lists); never a loopback, private, link-local, unique-local, multicast or metadata address',
  example: 'https://hooks.example.com/video-pipeline',
});

export const webhookEvents = z
  .array(z.enum(eventTypes as [string, ...string[]]))
  .min(1, { error: 'events needs at least one event type' })
  .refine((events) => new Set(events).size === events.length, { error: 'events lists a type twice' })
  .meta({ description: 'the event types to receive', example: ['video.ready', 'video.failed'] });

export const createWebhookBody = z.strictObject({ url: webhookUrl, events: webhookEvents });
export const updateWebhookBody = z
  .strictObject({ url: webhookUrl.optional(), events: webhookEvents.optional(), enabled: z.boolean().optional().meta({ description: 'true re-enables an endpoint the pipeline disabled' }) })
  .refine((body) => Object.keys(body).length > 0, { error: 'send at least one of url, events, enabled' });

export const webhookIdParams = z.object({ id: z.string().meta({ description: 'the subscription\'s id (a UUID)' }) });
export const deliveryIdParams = webhookIdParams.extend({ deliveryId: z.string().meta({ description: 'the delivery\'s id (a UUID)' }) });

const pageLimitMessage = `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`;
export const pageQuery = z.object({
  limit: z.coerce.number({ error: pageLimitMessage }).int({ error: pageLimitMessage }).min(1, { error: pageLimitMessage }).max(MAX_PAGE_SIZE, { error: pageLimitMessage }).default(DEFAULT_PAGE_SIZE),
  cursor: z.string().optional().meta({ description: 'the `nextCursor` of the previous page' }),
});

export const webhookSchema = z
  .looseObject({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabled: z
      .object({ at: z.iso.datetime(), reason: z.string().nullable().meta({ description: 'why the pipeline disabled it; null when you did' }) })
      .nullable()
      .meta({ description: 'null while enabled' }),
    consecutiveFailures: z.number().int().meta({ description: 'attempts failed in a row; 0 after a success' }),
    previousSecretExpiresAt: z.iso.datetime().nullable().meta({ description: 'until then, deliveries are signed with the previous secret too' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Webhook' });

export const webhookWithSecretSchema = webhookSchema.extend({ secret: z.string().meta({ description: 'whsec_…: verify signatures with it. Shown only here; keep it' }) }).meta({ id: 'WebhookWithSecret' });

export const webhookPageSchema = z.object({ items: z.array(webhookSchema), nextCursor: z.string().nullable() }).meta({ id: 'WebhookPage' });

export const attemptSchema = z.object({
  attempt: z.number().int(),
  at: z.iso.datetime(),
  statusCode: z.number().int().nullable().meta({ description: 'null when no answer came' }),
  latencyMs: z.number().int().nullable().meta({ description: 'null for a lost attempt (no answer is known)' }),
  error: z
    .object({ code: z.string(), message: z.string() })
    .nullable()
    .meta({ description: 'webhook_timeout, webhook_connection_failed, webhook_http_status, webhook_redirect, webhook_target_refused, or webhook_attempt_lost (the dispatcher sending it stopped before it had the answer; the delivery is sent again)' }),
});

export const deliverySchema = z
  .looseObject({
    id: z.uuid(),
    webhookId: z.uuid().meta({ description: 'the message\'s `webhook-id` header: the same on every attempt' }),
    eventType: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']).meta({ description: 'failed: every attempt of the schedule failed' }),
    nextAttemptAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    attempts: z.array(attemptSchema),
  })
  .meta({ id: 'WebhookDelivery' });

export const deliveryPageSchema = z.object({ items: z.array(deliverySchema), nextCursor: z.string().nullable() }).meta({ id: 'WebhookDeliveryPage' });

export function webhookView(subscription: WebhookSubscription, now: number): z.input<typeof webhookSchema> {
  const graceUntil = subscription.previousSecretExpiresAt && subscription.previousSecretExpiresAt.getTime() > now ? subscription.previousSecretExpiresAt : null;
  return {
    id: subscription.id,
    url: subscription.url,
    events: subscription.events,
    enabled: subscription.enabled,
    disabled: subscription.enabled || !subscription.disabledAt ? null : { at: subscription.disabledAt.toISOString(), reason: subscription.disabledReason },
    consecutiveFailures: subscription.consecutiveFailures,
    previousSecretExpiresAt: graceUntil?.toISOString() ?? null,
    createdAt: subscription.createdAt.toISOString(),
    updatedAt: subscription.updatedAt.toISOString(),
  };
}

export function deliveryView(delivery: DeliveryWithAttempts): z.input<typeof deliverySchema> {
  return {
    id: delivery.id,
    webhookId: delivery.eventId,
    eventType: delivery.eventType,
    status: delivery.status,
    nextAttemptAt: delivery.status === 'pending' ? (delivery.nextAttemptAt?.toISOString() ?? null) : null,
    createdAt: delivery.createdAt.toISOString(),
    attempts: delivery.attemptLog.map((attempt) => ({
      attempt: attempt.attempt,
      at: attempt.startedAt.toISOString(),
      statusCode: attempt.statusCode,
      latencyMs: attempt.latencyMs,
      error: attempt.errorCode ? { code: attempt.errorCode, message: attempt.errorMessage ?? '' } : null,
    })),
  };
}

/** A page of rows fetched one over the limit: the items, and the cursor of the next page if there is one. */
export function pageOf<Row extends { createdAt: Date; id: string }, Item>(rows: Row[], limit: number, view: (row: Row) => Item): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(view), nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
