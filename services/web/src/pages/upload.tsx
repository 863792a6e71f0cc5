import { useRef, useState } from 'preact/hooks';
import { formatBytes, formatDuration } from '../format';
import { useApp } from '../session';
import { TransferRate } from '../upload/progress';
import type { Transfer, TransferEvents } from '../upload/transfer';
import { simpleUpload } from '../upload/xhr-upload';

type State = 'uploading' | 'paused' | 'done' | 'failed' | 'cancelled';

interface Item {
  id: number;
  file: File;
  state: State;
  sent: number;
  speed: number | null;
  secondsLeft: number | null;
  error: string | null;
  videoId: string | null;
  transfer: Transfer | null;
}

let nextItemId = 1;

/** Drop or pick one or several files; each uploads with its progress, speed and time left. */
export function UploadPage() {
  const { session, features, detectedFeatures } = useApp();
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);

  const update = (id: number, change: Partial<Item>) => setItems((all) => all.map((item) => (item.id === id ? { ...item, ...change } : item)));

  async function add(files: FileList | null) {
    if (!files || !session) return;
    const picked = Array.from(files); // the picker is cleared as soon as this returns
    // A file picked while the app is still asking the API what it offers must still go by tus where it can.
    const { tus } = await detectedFeatures;
    for (const file of picked) {
      const id = nextItemId++;
      const rate = new TransferRate();
      const events: TransferEvents = {
        onProgress: (sent, total) => {
          rate.record(sent);
          update(id, { sent, speed: rate.bytesPerSecond(), secondsLeft: rate.secondsLeft(total) });
        },
        onSuccess: (videoId) => update(id, { state: 'done', sent: file.size, videoId, secondsLeft: 0 }),
        onError: (error) => update(id, { state: 'failed', error: error.message }),
      };
      const item: Item = { id, file, state: 'uploading', sent: 0, speed: null, secondsLeft: null, error: null, videoId: null, transfer: null };
      setItems((all) => [...all, item]);
      const transfer = tus ? await (await import('../upload/tus-upload')).tusUpload(file, session.key, events) : simpleUpload(file, session.key, events);
      update(id, { transfer });
      transfer.start();
    }
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    void add(event.dataTransfer?.files ?? null);
  }

  return (
    <section>
      <h1>Upload videos</h1>
      <div
        class={`drop-zone${dragging ? ' dragging' : ''}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>Drop video files here, or</p>
        <input
          id="file-picker"
          ref={picker}
          class="visually-hidden"
          type="file"
          accept="video/*"
          multiple
          onChange={(event) => {
            void add(event.currentTarget.files);
            event.currentTarget.value = '';
          }}
        />
        <label class="button" for="file-picker">
          Choose files
        </label>
        <p class="hint">{features.tus ? 'Uploads resume after a dropped connection or a page reload: pick the same file again.' : 'Keep this page open until uploads finish.'}</p>
      </div>
      <ul class="uploads" aria-label="Uploads">
        {items.map((item) => (
          <UploadRow key={item.id} item={item} onChange={(change) => update(item.id, change)} />
        ))}
      </ul>
    </section>
  );
}

function UploadRow({ item, onChange }: { item: Item; onChange(change: Partial<Item>): void }) {
  const percent = item.file.size ? Math.floor((item.sent / item.file.size) * 100) : 100;
  const label = `Upload of ${item.file.name}`;
  return (
    <li class={`upload upload-${item.state}`} data-state={item.state}>
      <div class="upload-head">
        <span class="upload-name">{item.file.name}</span>
        <span class="upload-size">{formatBytes(item.file.size)}</span>
      </div>
      <progress max={100} value={percent} aria-label={label} />
      <p class="upload-status" aria-live="polite">
        {item.state === 'uploading' && (
          <>
            <span class="percent">{percent}%</span>
            {item.speed != null && <span> · {formatBytes(item.speed)}/s</span>}
            {item.secondsLeft != null && <span> · {formatDuration(item.secondsLeft)} left</span>}
          </>
        )}
        {item.state === 'paused' && <span>Paused at {percent}%</span>}
        {item.state === 'done' && (
          <span>
            Uploaded. {item.videoId ? <a href={`/videos/${item.videoId}`}>Open the video</a> : <a href="/">See it in your library</a>}
          </span>
        )}
        {item.state === 'cancelled' && <span>Cancelled</span>}
        {item.state === 'failed' && (
          <span class="error" role="alert">
            {item.error}
          </span>
        )}
      </p>
      <div class="upload-actions">
        {item.state === 'uploading' && item.transfer?.pause && (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              item.transfer?.pause?.();
              onChange({ state: 'paused', speed: null, secondsLeft: null });
            }}
          >
            Pause
          </button>
        )}
        {(item.state === 'paused' || (item.state === 'failed' && item.transfer?.resume)) && (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              item.transfer?.resume?.();
              onChange({ state: 'uploading', error: null });
            }}
          >
            Resume
          </button>
        )}
        {(item.state === 'uploading' || item.state === 'paused') && (
          <button
            type="button"
            class="danger"
            onClick={() => {
              item.transfer?.cancel();
              onChange({ state: 'cancelled', speed: null, secondsLeft: null });
            }}
          >
            Cancel
          </button>
        )}
      </div>
    </li>
  );
}
