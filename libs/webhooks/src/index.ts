export { TargetGuard, TargetRefused, parseAllowedTargets, systemResolver, type AllowedTargets, type Resolver } from './target-guard';
export { SECRET_PREFIX, newSigningSecret, signWebhook, type WebhookHeaders } from './signing';
export { defaultDeliveryPolicy, deliveryPolicyFrom, deliveryPolicyProblems, retryDelayMs, shouldDisable, type DeliveryPolicy } from './delivery-policy';
export { LOST_ATTEMPT_CODE, sendWebhook, type AttemptFailure, type AttemptResult, type SendOptions } from './send';
export { TEST_EVENT_TYPE, webhookBody } from './message';
