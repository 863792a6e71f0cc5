import type { Effects, EventHandler } from '@video-pipeline/consumer';
import type { EventType } from '@video-pipeline/events';
import { webhookBody } from '@video-pipeline/webhooks';

/**
 * Any video event: one delivery per enabled subscription of the video's
 * owner that wants this event type, written in the transaction that records
 * the event as processed. `(subscription, event id)` is unique, so a
 * redelivered event makes no second delivery. Sending is the dispatcher's:
 * a slow or dead endpoint never holds up the partition.
 */
export const fanOutToWebhooks: EventHandler<EventType> = async (event) => {
  const body = webhookBody(event.type, event.time, event.data);
  const effects: Effects = async (tx) => {
    await tx.$executeRaw`
      INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, body, next_attempt_at)
      SELECT gen_random_uuid(), s.id, ${event.id}::uuid, ${event.type}, ${body}, now()
      FROM webhook_subscriptions s
      WHERE s.owner_id = ${event.data.ownerId} AND s.enabled AND ${event.type} = ANY(s.events)
      ON CONFLICT (subscription_id, event_id) DO NOTHING`;
  };
  return effects;
};
