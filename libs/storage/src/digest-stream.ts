import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { PipelineError } from '@video-pipeline/errors';

/**
 * Passes bytes through while counting them and computing their SHA-256, and
 * fails with `file_too_large` the moment the count passes `maxBytes`, so an
 * oversized upload is cut off instead of stored.
 */
export class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
  private count = 0;

  constructor(private readonly maxBytes: number = Number.POSITIVE_INFINITY) {
    super();
  }

  get sizeBytes(): number {
    return this.count;
  }

  /** Hex SHA-256 of everything that passed; call after the stream ended. */
  digest(): string {
    return this.hash.digest('hex');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.maxBytes) {
      callback(new PipelineError('file_too_large', `file exceeds the limit of ${this.maxBytes} bytes`, { details: { maxBytes: this.maxBytes } }));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}
