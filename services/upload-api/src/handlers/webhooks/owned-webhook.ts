import type { WebhookSubscription } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';
import type { WebhookRouteDeps } from '../../webhook-schemas';

/** The caller's subscription `id`, or `not_found`: another owner's answers exactly like a missing one. */
export async function ownedWebhook(deps: WebhookRouteDeps, ownerId: string, id: string): Promise<WebhookSubscription> {
  const subscription = isUuid(id) ? await deps.repository.find(ownerId, id.toLowerCase()) : null;
  if (!subscription) throw new PipelineError('not_found', `no webhook ${id}`);
  return subscription;
}

/**
 * Judges a webhook URL at subscription time and gives it normalised: refused
 * from the URL alone, or when its host resolves to a refused address. A name
 * that does not resolve now may later; every delivery judges it again.
 */
export async function acceptableUrl(deps: WebhookRouteDeps, raw: string): Promise<string> {
  const url = deps.guard.checkUrl(raw);
  await deps.guard.check(raw).catch((error: unknown) => {
    if (error instanceof PipelineError && error.code === 'webhook_target_refused') throw error;
  });
  return url.href;
}
