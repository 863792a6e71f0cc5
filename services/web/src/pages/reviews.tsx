import { useEffect, useState } from 'preact/hooks';
import { ApiError, type ReviewItem } from '../api';
import { formatDate, formatDuration } from '../format';
import { parseStoryboardVtt, type StoryboardTile } from '../storyboard';
import { useApp } from '../session';

/** The reviewers' queue (admin keys): videos moderation could not decide, with its reasons; approve or reject with a note. */
export function Reviews() {
  const { api, features } = useApp();
  const [items, setItems] = useState<ReviewItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    if (!api || !features.reviews) return;
    api.listReviews().then(
      (queue) => setItems(queue.items),
      (caught) => setError(caught instanceof ApiError ? caught.message : 'The review queue could not be loaded. Try again in a moment.'),
    );
  }, [api, features.reviews]);

  async function decide(item: ReviewItem, decision: 'approved' | 'rejected', note: string) {
    if (!api) return;
    try {
      const review = await api.decideReview(item.videoId, decision, note.trim() || null);
      setItems((all) => (all ?? []).filter((other) => other.videoId !== item.videoId));
      setDone(`"${item.title || 'Untitled'}" ${decision === 'approved' ? 'approved' : 'rejected'}: it is now ${review.status.replace(/_/g, ' ')}.`);
      setError(null);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'The decision could not be saved. Try again.');
    }
  }

  if (!features.reviews) {
    return (
      <section>
        <h1>Reviews</h1>
        <p class="calm">Reviewing is not available on this server yet.</p>
      </section>
    );
  }
  return (
    <section>
      <h1>Reviews</h1>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {items && items.length === 0 && (
        <div class="empty-state">
          <p>Nothing is waiting for review.</p>
        </div>
      )}
      <ul class="review-list" aria-label="Videos waiting for review">
        {(items ?? []).map((item) => (
          <ReviewCard key={item.videoId} item={item} onDecide={(decision, note) => void decide(item, decision, note)} />
        ))}
      </ul>
    </section>
  );
}

function ReviewCard({ item, onDecide }: { item: ReviewItem; onDecide(decision: 'approved' | 'rejected', note: string): void }) {
  const [note, setNote] = useState('');
  const noteId = `note-${item.videoId}`;
  const reasons = item.reasons.filter((reason) => reason.verdict !== 'pass');
  return (
    <li class="review" data-video-id={item.videoId}>
      <h2>{item.title || 'Untitled'}</h2>
      <p class="video-meta">
        <span>by {item.ownerId}</span> <span>waiting since {formatDate(item.waitingSince)}</span>
      </p>
      {item.description && <p>{item.description}</p>}
      <ReviewPictures item={item} />
      <ul class="reasons" aria-label="Why it needs a review">
        {reasons.map((reason) => (
          <li>
            <strong>{reason.check}</strong>: {reason.message}
          </li>
        ))}
      </ul>
      <label for={noteId}>Note for the uploader (optional)</label>
      <textarea id={noteId} rows={2} value={note} onInput={(event) => setNote(event.currentTarget.value)} />
      <div class="video-actions">
        <button type="button" onClick={() => onDecide('approved', note)}>
          Approve
        </button>
        <button type="button" class="danger" onClick={() => onDecide('rejected', note)}>
          Reject
        </button>
      </div>
    </li>
  );
}

/** How many storyboard frames the strip shows, spread over the video. */
const STRIP_FRAMES = 6;

/** The poster and a strip of storyboard frames, so a reviewer sees the video before deciding. */
function ReviewPictures({ item }: { item: ReviewItem }) {
  const [tiles, setTiles] = useState<StoryboardTile[]>([]);
  const vttUrl = item.pictures?.storyboard?.vttUrl;
  useEffect(() => {
    if (!vttUrl) return;
    void fetch(vttUrl)
      .then((response) => (response.ok ? response.text() : ''))
      .then((text) => setTiles(parseStoryboardVtt(text, vttUrl, location.href)), () => setTiles([]));
  }, [vttUrl]);
  const posters = item.pictures?.posters ?? [];
  if (posters.length === 0 && !vttUrl) return <p class="calm">No pictures yet: the thumbnails are still being made.</p>;
  // The smallest poster that still fills the card, else the largest there is.
  const poster = [...posters].reverse().find((candidate) => candidate.width >= 480) ?? posters[0];
  const step = Math.max(1, tiles.length / STRIP_FRAMES);
  const strip = Array.from({ length: Math.min(STRIP_FRAMES, tiles.length) }, (_, index) => tiles[Math.floor(index * step)]!);
  return (
    <div class="review-pictures">
      {poster && (
        <div class="poster review-poster">
          <img src={poster.url} width={poster.width} height={poster.height} alt={`Poster of "${item.title || 'Untitled'}"`} />
        </div>
      )}
      {strip.length > 0 && (
        <ul class="storyboard-strip" aria-label="Storyboard">
          {strip.map((tile) => (
            <li key={tile.start}>
              <div
                role="img"
                aria-label={`Frame at ${formatDuration(tile.start)}`}
                style={{ width: `${tile.width}px`, height: `${tile.height}px`, backgroundImage: `url("${tile.url}")`, backgroundPosition: `-${tile.x}px -${tile.y}px` }}
              />
              <span aria-hidden="true">{formatDuration(tile.start)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
