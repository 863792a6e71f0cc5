import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PipelineError } from '@video-pipeline/errors';

export interface PlaybackGrant {
  videoId: string;
  ownerId: string;
  expiresAt: Date;
}

/**
 * Signed, expiring, owner-scoped playback tokens, carried in the URL path
 * (`/v1/play/<token>/master.m3u8`) so that a playlist's relative URLs carry
 * them too: `base64url(JSON { v, o, e }).base64url(HMAC-SHA256)`.
 */
export class PlaybackTokens {
  private readonly secret: Buffer;

  constructor(
    secret: string | undefined,
    readonly ttlSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  sign(videoId: string, ownerId: string, expiresAt = new Date(this.now().getTime() + this.ttlSeconds * 1000)): string {
    const payload = Buffer.from(JSON.stringify({ v: videoId, o: ownerId, e: Math.floor(expiresAt.getTime() / 1000) })).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** The grant a token carries; `playback_token_invalid` if it is not ours, `playback_token_expired` once it expired. */
  verify(token: string): PlaybackGrant {
    const [payload, mac, ...rest] = token.split('.');
    const expected = payload ? Buffer.from(this.mac(payload)) : Buffer.alloc(0);
    if (!payload || !mac || rest.length > 0 || mac.length !== expected.length || !timingSafeEqual(Buffer.from(mac), expected)) {
      throw new PipelineError('playback_token_invalid', 'this playback URL is not valid');
    }
    let grant: { v?: unknown; o?: unknown; e?: unknown };
    try {
      grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw new PipelineError('playback_token_invalid', 'this playback URL is not valid');
    }
    if (typeof grant.v !== 'string' || typeof grant.o !== 'string' || typeof grant.e !== 'number') throw new PipelineError('playback_token_invalid', 'this playback URL is not valid');
    const expiresAt = new Date(grant.e * 1000);
    if (expiresAt <= this.now()) throw new PipelineError('playback_token_expired', 'this playback URL has expired; read the video again for a fresh one', { details: { expiredAt: expiresAt.toISOString() } });
    return { videoId: grant.v, ownerId: grant.o, expiresAt };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}
