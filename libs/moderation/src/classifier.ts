import { z } from 'zod';
import type { ModerationReasonV1 } from '@video-pipeline/events';

export interface ClassifierOptions {
  /** POSTed JSON `{ videoId, title, description, frameHashes }`; answers `{ verdict: 'pass'|'reject'|'review', code?, message? }`. */
  url: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

const answer = z.object({ verdict: z.enum(['pass', 'reject', 'review']), code: z.string().min(1).max(100).optional(), message: z.string().max(1000).optional() });

/**
 * Asks the external classifier. Anything but a valid answer in time (down,
 * slow, an error status, a body that is not the contract) is a `review`
 * verdict: the video waits for a person, it is never approved blindly.
 */
export async function askClassifier(request: { videoId: string; title: string | null; description: string | null; frameHashes: string[] }, options: ClassifierOptions, signal?: AbortSignal): Promise<ModerationReasonV1> {
  const unavailable = (why: string): ModerationReasonV1 => ({ check: 'classifier', verdict: 'review', code: 'classifier_unavailable', message: `the classifier gave no verdict: ${why}` });
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await (options.fetch ?? fetch)(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (!response.ok) return unavailable(`HTTP ${response.status}`);
    const parsed = answer.safeParse(await response.json());
    if (!parsed.success) return unavailable('an answer that is not { verdict, code?, message? }');
    const { verdict, code, message } = parsed.data;
    return { check: 'classifier', verdict, code: code ?? `classifier_${verdict}`, message: message ?? '' };
  } catch (error) {
    if (signal?.aborted) throw error;
    return unavailable(timeout.aborted ? `no answer within ${options.timeoutMs} ms` : (error as Error).message);
  }
}
