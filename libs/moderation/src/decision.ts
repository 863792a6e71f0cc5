import type { ModerationReasonV1 } from '@video-pipeline/events';

export type Decision = 'approved' | 'rejected' | 'needs_review';

/** Any rejecting check rejects; otherwise any check that wants a person sends it to review; otherwise approved. */
export function decide(reasons: readonly ModerationReasonV1[]): Decision {
  if (reasons.some((reason) => reason.verdict === 'reject')) return 'rejected';
  if (reasons.some((reason) => reason.verdict === 'review')) return 'needs_review';
  return 'approved';
}
