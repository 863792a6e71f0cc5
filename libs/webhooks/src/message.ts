/** The type of the message `POST /v1/webhooks/:id/test` sends. */
export const TEST_EVENT_TYPE = 'webhook.test';

/**
 * A webhook's JSON body, per the Standard Webhooks specification: the event
 * type, when it happened, and its data. Serialised once and stored, so every
 * attempt sends (and signs) the same bytes.
 */
export function webhookBody(type: string, timestamp: string, data: unknown): string {
  return JSON.stringify({ type, timestamp, data });
}
