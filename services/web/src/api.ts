/** The upload API as the app uses it: same origin, `Authorization: Bearer <key>`, errors as `{ error: { code, message } }`. */

export type StageStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'approved' | 'rejected' | 'needs_review' | (string & {});

export interface Stage {
  status: StageStatus;
  progress?: number | null;
  error?: { code: string; message: string } | null;
}

export interface Rendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
}

export interface Video {
  id: string;
  title: string | null;
  status: string;
  createdAt: string;
  stages?: Record<string, Stage>;
  renditions?: Rendition[];
  hls?: { masterPlaylistKey: string; durationSeconds: number } | null;
  thumbnails?: { placeholder?: string | null } | null;
  /** Playback URLs (the lifecycle issue); read through `playbackOf`, since the API may not have them yet. */
  playback?: Record<string, unknown> | null;
  /** Moderation's decision and every check's reasons (the lifecycle issue). */
  moderation?: { decision: string; decidedBy?: string; reviewer?: string | null; note?: string | null; reasons?: ModerationReason[] } | null;
  [field: string]: unknown;
}

export interface VideoPage {
  items: Video[];
  nextCursor: string | null;
}

/** An answer other than 2xx: the API's stable `code` and its message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Reads an error answer; one that is not the API's JSON still becomes an ApiError with a message for people. */
export async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string }; requestId?: string };
    if (body.error?.code) return new ApiError(response.status, body.error.code, body.error.message ?? body.error.code, body.requestId);
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiError(response.status, `http_${response.status}`, `The server answered ${response.status} ${response.statusText}`.trim());
}

export class Api {
  constructor(
    readonly key: string,
    private readonly fetcher: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${this.key}`);
    if (init.body !== undefined && typeof init.body === 'string') headers.set('Content-Type', 'application/json');
    const response = await this.fetcher(path, { ...init, headers });
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  listVideos(options: { cursor?: string | null; status?: string; limit?: number }): Promise<VideoPage> {
    const query = new URLSearchParams({ limit: String(options.limit ?? 20) });
    if (options.cursor) query.set('cursor', options.cursor);
    if (options.status) query.set('status', options.status);
    return this.request(`/v1/videos?${query}`);
  }

  getVideo(id: string): Promise<Video> {
    return this.request(`/v1/videos/${encodeURIComponent(id)}`);
  }

  renameVideo(id: string, title: string): Promise<Video> {
    return this.request(`/v1/videos/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify({ title }) });
  }

  deleteVideo(id: string): Promise<void> {
    return this.request(`/v1/videos/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  /** The videos waiting for a reviewer (admin keys). */
  listReviews(): Promise<{ items: ReviewItem[] }> {
    return this.request('/v1/reviews?limit=100');
  }

  decideReview(videoId: string, decision: 'approved' | 'rejected', note: string | null): Promise<{ status: string }> {
    return this.request(`/v1/reviews/${encodeURIComponent(videoId)}`, { method: 'POST', body: JSON.stringify({ decision, note }) });
  }
}

export interface ModerationReason {
  check: string;
  verdict: 'pass' | 'reject' | 'review' | (string & {});
  code: string;
  message: string;
}

export interface ReviewItem {
  videoId: string;
  ownerId: string;
  title: string | null;
  description?: string | null;
  reasons: ModerationReason[];
  waitingSince: string;
  /** Signed URLs of the poster and storyboard (null before the thumbnails exist). */
  pictures?: {
    posters: { width: number; height: number; format: string; url: string }[];
    storyboard: { spriteUrl: string; vttUrl: string } | null;
  } | null;
}

/**
 * Who a key belongs to: an owner's key lists videos; an admin's (a reviewer's)
 * is refused there with 403 `forbidden`; an unknown one with 401.
 */
export async function identify(key: string, fetcher?: typeof fetch): Promise<'owner' | 'admin'> {
  try {
    await new Api(key, fetcher).listVideos({ limit: 1 });
    return 'owner';
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return 'admin';
    throw error;
  }
}

export interface Playback {
  masterUrl?: string;
  posterUrl?: string;
  storyboardVttUrl?: string;
}

/**
 * The playback URLs of a video, if the API gives them. The lifecycle issue adds
 * them to the video JSON; until then a video has none and the player says so.
 */
export function playbackOf(video: Video): Playback {
  const playback = (video.playback ?? {}) as Record<string, unknown>;
  const url = (...names: string[]) => names.map((name) => playback[name]).find((value): value is string => typeof value === 'string');
  const posters = playback.posters;
  const firstPoster = Array.isArray(posters) ? (posters as { url?: string; format?: string }[]).find((poster) => poster.url && poster.format !== 'jpg')?.url : undefined;
  const storyboard = playback.storyboard as { vttUrl?: string; url?: string } | undefined;
  return {
    masterUrl: url('masterPlaylistUrl', 'hlsUrl', 'masterUrl', 'hls'),
    posterUrl: url('posterUrl', 'poster') ?? firstPoster,
    storyboardVttUrl: url('storyboardVttUrl', 'storyboardUrl') ?? storyboard?.vttUrl ?? storyboard?.url,
  };
}
