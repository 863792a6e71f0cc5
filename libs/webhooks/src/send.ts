import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { isPipelineError } from '@video-pipeline/errors';
import type { TargetGuard } from './target-guard';

/** Why an attempt failed: a closed set, recorded with each attempt. */
export type AttemptFailure =
  /** The guard refused the URL or an address it resolved to: nothing was sent. */
  | 'webhook_target_refused'
  /** No answer within the policy's timeout. */
  | 'webhook_timeout'
  /** DNS, TCP or TLS failed, or the connection broke. */
  | 'webhook_connection_failed'
  /** An answer other than 2xx. */
  | 'webhook_http_status'
  /** A 3xx: redirects are not followed (the next hop could be a private address). */
  | 'webhook_redirect'
  /** The dispatcher sending it died before it recorded an answer (logged when the delivery is claimed again). */
  | typeof LOST_ATTEMPT_CODE;

/** An attempt lost with its dispatcher: no answer is known. */
export const LOST_ATTEMPT_CODE = 'webhook_attempt_lost';

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: { code: AttemptFailure; message: string } | null;
}

export interface SendOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  guard: TargetGuard;
  timeoutMs: number;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
  /** Keep-alive agents; each connection they open is still checked by the guard's lookup. */
  agents?: { http: http.Agent; https: https.Agent };
}

/** How much of an answer's body is read before it is dropped: receivers should answer quickly and briefly. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * One POST of a webhook. Never throws: the result says what happened. The
 * guard decides before any connection (the URL, then every address its host
 * resolves to); redirects are not followed.
 */
export async function sendWebhook(options: SendOptions): Promise<AttemptResult> {
  const started = performance.now();
  const done = (statusCode: number | null, error: AttemptResult['error']): AttemptResult => ({
    ok: error === null,
    statusCode,
    latencyMs: Math.round(performance.now() - started),
    error,
  });
  let url: URL;
  try {
    url = options.guard.checkUrl(options.url);
  } catch (error) {
    return done(null, { code: 'webhook_target_refused', message: (error as Error).message });
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<AttemptResult>((resolve) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body), 'user-agent': 'video-pipeline-webhooks/1' },
        lookup: options.guard.lookupFor(url),
        agent: options.agents ? (url.protocol === 'https:' ? options.agents.https : options.agents.http) : undefined,
        signal,
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) response.destroy();
        });
        const finish = () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(done(status, null));
          else if (status >= 300 && status < 400) resolve(done(status, { code: 'webhook_redirect', message: `answered ${status} (to ${response.headers.location ?? 'nowhere'}); redirects are not followed` }));
          else resolve(done(status, { code: 'webhook_http_status', message: `answered ${status}` }));
        };
        response.on('end', finish);
        response.on('close', finish); // a destroyed (oversized) answer still has its status
        response.on('error', () => undefined);
      },
    );
    request.on('error', (error) => {
      if (isPipelineError(error) && error.code === 'webhook_target_refused') resolve(done(null, { code: 'webhook_target_refused', message: error.message }));
      else if (timeout.aborted) resolve(done(null, { code: 'webhook_timeout', message: `no answer within ${options.timeoutMs} ms` }));
      else resolve(done(null, { code: 'webhook_connection_failed', message: error.message }));
    });
    request.end(options.body);
  });
}
