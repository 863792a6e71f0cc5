import { fetchEventSource } from '@microsoft/fetch-event-source';
import { useEffect } from 'preact/hooks';
import type { Api, Video } from './api';

export const TERMINAL_STATUSES = new Set(['ready', 'rejected', 'failed']);
/** Videos watched over their own event stream at once: browsers allow about six connections per origin over HTTP/1.1. */
const MAX_STREAMS = 4;
/** How often videos without a stream are read again. */
const POLL_MS = 3_000;

class StreamEnded extends Error {}

/**
 * Follows one video's `GET /v1/videos/:id/events` (Server-Sent Events, through
 * fetch so the API key goes in a header; EventSource cannot send one) and
 * calls `onChange` on every event, until the stream ends or `signal` aborts.
 * The event's payload is not read: the video is read again, so the page shows
 * the API's one view of it.
 */
export function watchVideoEvents(api: Api, id: string, onChange: () => void, signal: AbortSignal): void {
  void fetchEventSource(`/v1/videos/${encodeURIComponent(id)}/events`, {
    headers: { Authorization: `Bearer ${api.key}` },
    signal,
    openWhenHidden: true,
    onopen: async (response) => {
      if (!response.ok) throw new StreamEnded(`event stream answered ${response.status}`);
    },
    onmessage: () => onChange(),
    // The stream ends after the video's final state: no reconnection then.
    onclose: () => {
      onChange();
      throw new StreamEnded('event stream ended');
    },
    onerror: (error) => {
      if (error instanceof StreamEnded) throw error;
      // a dropped connection: retried, resuming with Last-Event-ID
    },
  }).catch(() => undefined);
}

/**
 * Keeps `videos` that are still on their way to a final state fresh: over
 * their event streams when the API has them (a few at once), by reading them
 * again every few seconds otherwise.
 */
export function useLiveVideos(api: Api | null, videos: readonly Video[], liveEvents: boolean, onFresh: (video: Video) => void): void {
  const pending = videos.filter((video) => !TERMINAL_STATUSES.has(video.status)).map((video) => video.id);
  const key = pending.join(',');
  useEffect(() => {
    if (!api || pending.length === 0) return;
    const stop = new AbortController();
    const reread = coalesced((id: string) => api.getVideo(id).then((video) => !stop.signal.aborted && onFresh(video), () => undefined));
    const streamed = liveEvents ? pending.slice(0, MAX_STREAMS) : [];
    for (const id of streamed) watchVideoEvents(api, id, () => reread(id), stop.signal);
    const polled = pending.filter((id) => !streamed.includes(id));
    const timer = polled.length ? setInterval(() => polled.forEach(reread), POLL_MS) : undefined;
    return () => {
      stop.abort();
      clearInterval(timer);
    };
  }, [api, key, liveEvents]);
}

/**
 * One read at a time per video: a burst of events (a stream replays the
 * video's history when it opens) makes one read, plus one more after it if
 * events came meanwhile, so the last state is always read.
 */
function coalesced(read: (id: string) => Promise<unknown>): (id: string) => void {
  const state = new Map<string, 'reading' | 'again'>();
  const run = (id: string): void => {
    const now = state.get(id);
    if (now) {
      state.set(id, 'again');
      return;
    }
    state.set(id, 'reading');
    void read(id).finally(() => {
      const again = state.get(id) === 'again';
      state.delete(id);
      if (again) run(id);
    });
  };
  return run;
}
