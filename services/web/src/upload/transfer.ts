import type { ApiError } from '../api';

/** What an upload tells the page as it goes. */
export interface TransferEvents {
  onProgress(bytesSent: number, bytesTotal: number): void;
  /** The video the upload created, when the API names it. */
  onSuccess(videoId: string | null): void;
  onError(error: ApiError): void;
}

/** One file on its way: the simple POST can only be cancelled; a tus upload can also pause and resume. */
export interface Transfer {
  start(): void;
  cancel(): void;
  pause?(): void;
  resume?(): void;
}

/** The title a file gets: its name without the extension. */
export function titleFromFileName(name: string): string {
  return name.replace(/\.[^.]+$/, '').slice(0, 500) || name.slice(0, 500);
}
