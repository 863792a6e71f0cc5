import { useEffect, useRef, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { ApiError, playbackOf, type Video } from '../api';
import { StageList, StatusBadge, failureOf } from '../components';
import { formatDuration } from '../format';
import { useLiveVideos } from '../live';
import { useApp } from '../session';
import { parseStoryboardVtt, tileAt, type StoryboardTile } from '../storyboard';
import { NotFound } from './not-found';

/** One video: its state, why it failed if it did, and the player once it is ready. */
export function Player() {
  const { params } = useRoute();
  const { api, features } = useApp();
  const [video, setVideo] = useState<Video | null>(null);
  const [problem, setProblem] = useState<'not_found' | string | null>(null);
  const id = params.id ?? '';

  useEffect(() => {
    if (!api) return;
    let stopped = false;
    api.getVideo(id).then(
      (fresh) => !stopped && setVideo(fresh),
      (caught) => {
        if (stopped) return;
        if (caught instanceof ApiError && caught.status === 404) setProblem('not_found');
        else setProblem(caught instanceof ApiError ? caught.message : 'This video could not be loaded. Try again in a moment.');
      },
    );
    return () => {
      stopped = true;
    };
  }, [api, id]);
  // Live status until it is final; a video deleted meanwhile becomes "not found".
  useLiveVideos(api, video ? [video] : [], features.liveEvents, setVideo);

  if (problem === 'not_found') return <NotFound what="video" />;
  if (problem)
    return (
      <p class="error" role="alert">
        {problem}
      </p>
    );
  if (!video) return <p aria-busy="true">Loading…</p>;

  const failure = failureOf(video);
  const playback = playbackOf(video);
  return (
    <section class="player-page">
      <h1>{video.title || 'Untitled'}</h1>
      <p class="video-meta">
        <StatusBadge status={video.status} /> <span>{formatDuration(video.hls?.durationSeconds)}</span>
      </p>
      {failure && (
        <div class="error-box" role="alert">
          <h2>{video.status === 'rejected' ? 'This video was rejected' : 'This video could not be processed'}</h2>
          <p>{failure}</p>
        </div>
      )}
      {video.status === 'ready' && playback.masterUrl ? (
        <HlsPlayer src={playback.masterUrl} poster={playback.posterUrl} storyboardUrl={playback.storyboardVttUrl} duration={video.hls?.durationSeconds} />
      ) : (
        !failure && (
          <div class="empty-state">
            <p>{video.status === 'ready' ? 'Playback is not available on this server yet.' : 'The video is being processed. It plays here once it is ready.'}</p>
            <StageList video={video} />
          </div>
        )
      )}
    </section>
  );
}

const QUALITY_KEY = 'video-pipeline.quality';

/** The picture height the viewer chose in the quality menu, kept for the next video; null for auto. */
function preferredHeight(): number | null {
  const saved = Number(localStorage.getItem(QUALITY_KEY));
  return Number.isInteger(saved) && saved > 0 ? saved : null;
}

function rememberHeight(height: number | null): void {
  if (height) localStorage.setItem(QUALITY_KEY, String(height));
  else localStorage.removeItem(QUALITY_KEY);
}

interface Level {
  index: number;
  height: number;
  bitrate: number;
}

function HlsPlayer({ src, poster, storyboardUrl, duration: knownDuration }: { src: string; poster?: string; storyboardUrl?: string; duration?: number }) {
  const media = useRef<HTMLVideoElement>(null);
  const hlsRef = useRef<{ currentLevel: number; startLevel: number; destroy(): void } | null>(null);
  const [levels, setLevels] = useState<Level[]>([]);
  const [level, setLevel] = useState(-1);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(knownDuration ?? 0);
  const [error, setError] = useState<string | null>(null);
  const [tiles, setTiles] = useState<StoryboardTile[]>([]);
  const [hover, setHover] = useState<{ time: number; left: number } | null>(null);

  useEffect(() => {
    const element = media.current;
    if (!element) return;
    let destroyed = false;
    void (async () => {
      const { default: Hls } = await import('hls.js');
      if (destroyed) return;
      if (Hls.isSupported()) {
        const hls = new Hls();
        hlsRef.current = hls;
        hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
          const found = data.levels.map((item, index) => ({ index, height: item.height, bitrate: item.bitrate }));
          setLevels(found);
          // The quality the viewer chose last time, when this video has it; otherwise hls.js picks.
          const preferred = found.find((item) => item.height === preferredHeight());
          if (preferred) {
            hls.startLevel = preferred.index;
            hls.currentLevel = preferred.index;
            setLevel(preferred.index);
          }
          // Start at once where the browser allows it (a page opened to watch); otherwise the play button waits.
          element.play().catch(() => undefined);
        });
        hls.on(Hls.Events.ERROR, (_event, data) => {
          if (data.fatal) setError('The video could not be played. Reload the page to try again.');
        });
        hls.loadSource(src);
        hls.attachMedia(element);
      } else if (element.canPlayType('application/vnd.apple.mpegurl')) {
        element.src = src; // Safari plays HLS itself
        element.play().catch(() => undefined);
      } else {
        setError('This browser cannot play HLS video.');
      }
    })();
    return () => {
      destroyed = true;
      hlsRef.current?.destroy();
      hlsRef.current = null;
    };
  }, [src]);

  useEffect(() => {
    if (!storyboardUrl) return;
    void fetch(storyboardUrl)
      .then((response) => (response.ok ? response.text() : ''))
      .then((text) => setTiles(parseStoryboardVtt(text, storyboardUrl, location.href)))
      .catch(() => setTiles([]));
  }, [storyboardUrl]);

  const toggle = () => {
    const element = media.current;
    if (!element) return;
    if (element.paused) void element.play();
    else element.pause();
  };
  const seekBy = (delta: number) => {
    const element = media.current;
    if (element) element.currentTime = Math.min(Math.max(0, element.currentTime + delta), element.duration || duration);
  };
  function onKey(event: KeyboardEvent) {
    if ((event.target as HTMLElement).tagName === 'SELECT') return;
    const actions: Record<string, () => void> = {
      ' ': toggle,
      k: toggle,
      ArrowLeft: () => seekBy(-5),
      ArrowRight: () => seekBy(5),
      j: () => seekBy(-10),
      l: () => seekBy(10),
      m: () => media.current && (media.current.muted = !media.current.muted),
      f: () => (document.fullscreenElement ? void document.exitFullscreen() : void media.current?.parentElement?.requestFullscreen()),
    };
    const action = actions[event.key];
    if (action && !((event.target as HTMLElement).tagName === 'INPUT' && event.key.startsWith('Arrow'))) {
      event.preventDefault();
      action();
    }
  }
  const tile = hover ? tileAt(tiles, hover.time) : undefined;

  return (
    <div class="player" onKeyDown={onKey}>
      <video
        ref={media}
        poster={poster}
        playsInline
        preload="metadata"
        onClick={toggle}
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onTimeUpdate={(event) => setTime(event.currentTarget.currentTime)}
        onDurationChange={(event) => Number.isFinite(event.currentTarget.duration) && setDuration(event.currentTarget.duration)}
      />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="controls">
        <button type="button" onClick={toggle} aria-label={playing ? 'Pause' : 'Play'}>
          {playing ? '❚❚' : '▶'}
        </button>
        <div class="seek">
          <input
            type="range"
            aria-label="Seek"
            min={0}
            max={duration || 0}
            step={0.1}
            value={time}
            onInput={(event) => media.current && (media.current.currentTime = Number(event.currentTarget.value))}
            onMouseMove={(event) => {
              const bar = event.currentTarget.getBoundingClientRect();
              const fraction = Math.min(Math.max((event.clientX - bar.left) / bar.width, 0), 1);
              setHover({ time: fraction * duration, left: event.clientX - bar.left });
            }}
            onMouseLeave={() => setHover(null)}
          />
          {hover && tile && (
            <div class="storyboard-preview" style={{ left: `${hover.left}px` }} aria-hidden="true">
              <div style={{ width: `${tile.width}px`, height: `${tile.height}px`, backgroundImage: `url("${tile.url}")`, backgroundPosition: `-${tile.x}px -${tile.y}px` }} />
              <span>{formatDuration(hover.time)}</span>
            </div>
          )}
        </div>
        <span class="time">
          {formatDuration(time)} / {formatDuration(duration)}
        </span>
        <label class="visually-hidden" for="quality">
          Quality
        </label>
        <select
          id="quality"
          value={String(level)}
          onChange={(event) => {
            const chosen = Number(event.currentTarget.value);
            setLevel(chosen);
            if (hlsRef.current) hlsRef.current.currentLevel = chosen;
            rememberHeight(levels.find((item) => item.index === chosen)?.height ?? null);
          }}
        >
          <option value="-1">Auto</option>
          {levels.map((item) => (
            <option value={String(item.index)}>{item.height}p</option>
          ))}
        </select>
      </div>
      <p class="hint">Keys: space or k plays and pauses, ← → seek 5 s, j l seek 10 s, m mutes, f full screen.</p>
    </div>
  );
}
