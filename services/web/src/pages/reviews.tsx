import { useEffect, useState } from 'preact/hooks';
import { ApiError, type ReviewItem } from '../api';
import { formatDate } from '../format';
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
