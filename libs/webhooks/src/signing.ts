import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** The prefix Standard Webhooks gives a base64 secret. */
export const SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` and 32 random bytes in base64, as the specification's libraries read it. */
export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The headers of one attempt, per the Standard Webhooks specification. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs one attempt of a message with the specification's reference library:
 * `webhook-signature` holds `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * for each secret, space separated (during a rotation's grace period, the new
 * and the old one, so receivers verify with either).
 */
export function signWebhook(message: { id: string; body: string; timestamp: Date }, secrets: readonly string[]): WebhookHeaders {
  if (secrets.length === 0) throw new Error('signing needs at least one secret');
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(message.id, message.timestamp, message.body)).join(' '),
  };
}
