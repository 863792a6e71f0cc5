import { PipelineError } from '@video-pipeline/errors';
import { isUuid } from '@video-pipeline/events';

/** Position in an owner's newest-first listing: the last item's (createdAt, id). */
export interface Cursor {
  createdAt: Date;
  id: string;
}


/** Opaque to clients: base64url of `<ISO time>|<id>`. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  const [time, id, ...rest] = Buffer.from(raw, 'base64url').toString().split('|');
  const createdAt = new Date(time ?? '');
  if (rest.length > 0 || !id || !isUuid(id) || Number.isNaN(createdAt.getTime())) {
    throw new PipelineError('invalid_cursor', 'the cursor is not one this API returned');
  }
  return { createdAt, id };
}
