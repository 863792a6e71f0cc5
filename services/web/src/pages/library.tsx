import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, type Video } from '../api';
import { Poster, StageList, StatusBadge } from '../components';
import { STATUS_LABELS, formatDate, formatDuration } from '../format';
import { useLiveVideos } from '../live';
import { useApp } from '../session';


/** The owner's videos, newest first, a page at a time. */
export function Library() {
  const { api, features } = useApp();
  const [status, setStatus] = useState('');
  const [videos, setVideos] = useState<Video[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      if (!api) return;
      setLoading(true);
      try {
        const page = await api.listVideos({ cursor: after, status: status || undefined });
        setVideos((shown) => (after ? [...shown, ...page.items] : page.items));
        setCursor(page.nextCursor);
        setError(null);
      } catch (caught) {
        setError(caught instanceof ApiError ? caught.message : 'Your videos could not be loaded. Try again in a moment.');
      } finally {
        setLoading(false);
      }
    },
    [api, status],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  // Live status, over the videos' event streams where the API has them.
  useLiveVideos(api, videos, features.liveEvents, (fresh) => setVideos((shown) => shown.map((video) => (video.id === fresh.id ? fresh : video))));

  async function rename(video: Video) {
    const title = window.prompt('New title', video.title ?? '');
    if (title === null || !api) return;
    try {
      const updated = await api.renameVideo(video.id, title);
      setVideos((shown) => shown.map((item) => (item.id === video.id ? updated : item)));
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'The title could not be changed.');
    }
  }

  async function remove(video: Video) {
    if (!api || !window.confirm(`Delete "${video.title ?? 'Untitled'}"? This cannot be undone.`)) return;
    try {
      await api.deleteVideo(video.id);
      setVideos((shown) => shown.filter((item) => item.id !== video.id));
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'The video could not be deleted.');
    }
  }

  return (
    <section>
      <div class="section-head">
        <h1>Your videos</h1>
        <a class="button" href="/upload">
          Upload
        </a>
      </div>
      {features.statusFilter && (
        <p>
          <label for="status-filter">Show </label>
          <select id="status-filter" value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
            <option value="">all videos</option>
            {Object.entries(STATUS_LABELS).map(([value, label]) => (
              <option value={value}>{label.toLowerCase()}</option>
            ))}
          </select>
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!loading && videos.length === 0 && !error && (
        <div class="empty-state">
          <p>{status ? 'No videos with this status.' : 'No videos yet. Upload your first one.'}</p>
        </div>
      )}
      <ul class="video-list" aria-label="Videos" aria-busy={loading}>
        {videos.map((video) => (
          <li class="video-row" key={video.id} data-video-id={video.id}>
            <a href={`/videos/${video.id}`} class="video-link">
              <Poster video={video} width={160} />
              <span class="video-title">{video.title || 'Untitled'}</span>
            </a>
            <div class="video-meta">
              <StatusBadge status={video.status} />
              <span>{formatDuration(video.hls?.durationSeconds)}</span>
              <span>{formatDate(video.createdAt)}</span>
              <StageList video={video} />
            </div>
            <div class="video-actions">
              {features.rename && (
                <button type="button" class="secondary" onClick={() => void rename(video)} aria-label={`Rename ${video.title || 'Untitled'}`}>
                  Rename
                </button>
              )}
              {features.remove && (
                <button type="button" class="danger" onClick={() => void remove(video)} aria-label={`Delete ${video.title || 'Untitled'}`}>
                  Delete
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" class="secondary" disabled={loading} onClick={() => void load(cursor)}>
          {loading ? 'Loading…' : 'Show more'}
        </button>
      )}
    </section>
  );
}
