import { decode } from 'blurhash';
import { useEffect, useRef } from 'preact/hooks';
import { playbackOf, type Video } from './api';
import { statusLabel } from './format';

/** The poster, with its BlurHash placeholder painted first (and kept when there is no poster yet). */
export function Poster({ video, width = 320 }: { video: Video; width?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const hash = video.thumbnails?.placeholder ?? null;
  const { posterUrl } = playbackOf(video);
  useEffect(() => {
    const target = canvas.current;
    if (!target || !hash) return;
    try {
      const pixels = decode(hash, 32, 18);
      const context = target.getContext('2d');
      const image = context?.createImageData(32, 18);
      if (!context || !image) return;
      image.data.set(pixels);
      context.putImageData(image, 0, 0);
    } catch {
      // a malformed placeholder leaves the neutral background
    }
  }, [hash]);
  return (
    <div class="poster" style={{ width: `${width}px` }}>
      <canvas ref={canvas} width={32} height={18} aria-hidden="true" />
      {posterUrl && <img src={posterUrl} alt="" loading="lazy" decoding="async" />}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{statusLabel(status)}</span>;
}

/** Each media stage's status, and its progress while it runs. */
export function StageList({ video }: { video: Video }) {
  const stages = Object.entries(video.stages ?? {});
  if (stages.length === 0) return null;
  return (
    <ul class="stages" aria-label="Processing stages">
      {stages.map(([name, stage]) => (
        <li key={name}>
          {name} <span class={`stage stage-${stage.status}`}>{stage.status === 'running' && stage.progress != null ? `${Math.round(stage.progress)}%` : stage.status.replace(/_/g, ' ')}</span>
        </li>
      ))}
    </ul>
  );
}

/** Why a video did not become ready, in words: the failed stage's error, or moderation's reasons and the reviewer's note. */
export function failureOf(video: Video): string | null {
  if (video.status !== 'failed' && video.status !== 'rejected') return null;
  const failed = Object.entries(video.stages ?? {}).find(([name, stage]) => name !== 'moderation' && stage.status === 'failed' && stage.error);
  if (video.status === 'failed' && failed) return `${failed[0]}: ${failed[1].error!.message}`;
  const moderation = video.moderation;
  const reasons = (moderation?.reasons ?? []).filter((reason) => reason.verdict === 'reject').map((reason) => reason.message);
  if (moderation?.note) reasons.push(`Reviewer's note: ${moderation.note}`);
  if (reasons.length) return reasons.join(' ');
  return video.status === 'rejected' ? 'Moderation rejected this video.' : 'Processing failed.';
}
