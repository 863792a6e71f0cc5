import { z } from 'zod';
import { PipelineError } from '@video-pipeline/errors';
import { newSigningSecret } from '@video-pipeline/webhooks';
import { defineRoute } from '../../http/route';
import { webhookIdParams, type WebhookRouteDeps } from '../../webhook-schemas';
import { ownedWebhook } from './owned-webhook';

const rotatedSchema = z
  .object({
    secret: z.string().meta({ description: 'the new whsec_… secret, shown only here' }),
    previousSecretExpiresAt: z.iso.datetime().meta({ description: 'until then every delivery carries a signature by each secret' }),
  })
  .meta({ id: 'RotatedWebhookSecret' });

/** POST /v1/webhooks/:id/rotate-secret — a new secret; the old one keeps signing for the grace period. */
export function rotateWebhookSecretRoute(deps: WebhookRouteDeps) {
  return defineRoute({
    operationId: 'rotateWebhookSecret',
    method: 'post',
    path: '/v1/webhooks/{id}/rotate-secret',
    tags: ['webhooks'],
    summary: 'Rotate a webhook subscription\'s signing secret',
    description: 'During the grace period (`WEBHOOK_SECRET_GRACE_HOURS`, 24 h by default) `webhook-signature` carries one signature per secret, so receivers verify with either while they switch.',
    auth: 'owner',
    params: webhookIdParams,
    responses: { 200: { description: 'the new secret', schema: rotatedSchema } },
    errors: ['not_found', 'database_unavailable'],
    async handle({ params: { id }, ownerId }) {
      const current = await ownedWebhook(deps, ownerId, id);
      const secret = newSigningSecret();
      const graceUntil = new Date(deps.clock.now() + deps.policy.secretGraceMs);
      if (!(await deps.repository.rotateSecret(ownerId, current.id, secret, graceUntil))) throw new PipelineError('not_found', `no webhook ${id}`);
      return { status: 200, body: { secret, previousSecretExpiresAt: graceUntil.toISOString() } };
    },
  });
}
