import { useEffect, useState } from 'preact/hooks';
import { lazy } from 'preact-iso';
import { ApiError, type Api } from '../api';
import { formatDate } from '../format';
import { useApp } from '../session';

/** The lifecycle events a subscription can ask for (the API refuses a type it does not know, with its message). */
const EVENT_TYPES = ['video.uploaded', 'video.ready', 'video.rejected', 'video.failed', 'video.deleted'];

interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled: { at: string; reason: string | null } | null;
  consecutiveFailures: number;
}

interface Delivery {
  id: string;
  eventType: string;
  status: string;
  nextAttemptAt: string | null;
  createdAt: string;
  attempts: { attempt: number; at: string; statusCode: number | null; latencyMs: number | null; error: { code: string; message: string } | null }[];
}

type Attempt = Delivery['attempts'][number];

/**
 * What the endpoint answered, and how fast; or that there was no answer,
 * with its code and why. An attempt lost with the dispatcher sending it has
 * neither status nor latency.
 */
function attemptAnswer({ statusCode, latencyMs, error }: Attempt): string {
  if (statusCode !== null) return latencyMs === null ? String(statusCode) : `${statusCode} in ${latencyMs} ms`;
  const noAnswer = latencyMs === null ? 'no answer' : `no answer after ${latencyMs} ms`;
  return error ? `${noAnswer} (${error.code}): ${error.message}` : noAnswer;
}

const message = (caught: unknown, fallback: string) => (caught instanceof ApiError ? caught.message : fallback);

// The charts (uPlot) load with the analytics section only.
const Analytics = lazy(() => import('./analytics').then((module) => module.Analytics));

/** Settings: webhook subscriptions (create, the secret shown once, test, delivery log) and the pipeline's numbers. */
export function Settings() {
  const { api, features } = useApp();
  return (
    <section>
      <h1>Settings</h1>
      <h2>Webhooks</h2>
      {features.webhooks && api ? <Webhooks api={api} /> : <p class="calm">Webhooks are not available on this server yet.</p>}
      <h2>Analytics, last 30 days</h2>
      {features.analytics ? <Analytics /> : <p class="calm">Analytics are not available on this server yet.</p>}
    </section>
  );
}

function Webhooks({ api }: { api: Api }) {
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['video.ready', 'video.failed']);

  const reload = () =>
    api.request<{ items: Webhook[] }>('/v1/webhooks?limit=100').then(
      (page) => setHooks(page.items),
      (caught) => setError(message(caught, 'Your webhooks could not be loaded.')),
    );
  useEffect(() => void reload(), [api]);

  async function create(event: Event) {
    event.preventDefault();
    try {
      const created = await api.request<Webhook & { secret: string }>('/v1/webhooks', { method: 'POST', body: JSON.stringify({ url: url.trim(), events }) });
      setSecret(created.secret);
      setUrl('');
      setError(null);
      await reload();
    } catch (caught) {
      setError(message(caught, 'The webhook could not be created.'));
    }
  }

  async function remove(hook: Webhook) {
    if (!window.confirm(`Delete the webhook to ${hook.url}? Deliveries to it stop.`)) return;
    try {
      await api.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE' });
      await reload();
    } catch (caught) {
      setError(message(caught, 'The webhook could not be deleted.'));
    }
  }

  return (
    <div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {secret && (
        <div class="notice" role="status">
          <p>
            The new webhook's signing secret. Copy it now: it is not shown again.
          </p>
          <code class="secret">{secret}</code>
        </div>
      )}
      <form class="webhook-form" onSubmit={create}>
        <label for="webhook-url">Endpoint URL</label>
        <input id="webhook-url" type="url" required placeholder="https://example.com/hooks" value={url} onInput={(event) => setUrl(event.currentTarget.value)} />
        <fieldset>
          <legend>Events</legend>
          {EVENT_TYPES.map((type) => (
            <label class="check" key={type}>
              <input
                type="checkbox"
                checked={events.includes(type)}
                onChange={(event) => setEvents((all) => (event.currentTarget.checked ? [...all, type] : all.filter((other) => other !== type)))}
              />
              {type}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add webhook</button>
      </form>
      {hooks && hooks.length === 0 && <p class="calm">No webhooks yet.</p>}
      <ul class="review-list" aria-label="Webhooks">
        {(hooks ?? []).map((hook) => (
          <WebhookCard key={hook.id} api={api} hook={hook} onDelete={() => void remove(hook)} onError={setError} />
        ))}
      </ul>
    </div>
  );
}

function WebhookCard({ api, hook, onDelete, onError }: { api: Api; hook: Webhook; onDelete(): void; onError(text: string): void }) {
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const load = () =>
    api.request<{ items: Delivery[] }>(`/v1/webhooks/${hook.id}/deliveries?limit=20`).then(
      (page) => setDeliveries(page.items),
      (caught) => onError(message(caught, 'The deliveries could not be loaded.')),
    );
  async function test() {
    try {
      await api.request(`/v1/webhooks/${hook.id}/test`, { method: 'POST' });
      await load();
    } catch (caught) {
      onError(message(caught, 'The test could not be sent.'));
    }
  }
  return (
    <li class="review" data-webhook-id={hook.id}>
      <h3>{hook.url}</h3>
      <p class="video-meta">
        <span>{hook.events.join(', ')}</span>
        <span>{hook.enabled ? 'enabled' : `disabled${hook.disabled?.reason ? `: ${hook.disabled.reason}` : ''}`}</span>
      </p>
      <div class="video-actions">
        <button type="button" class="secondary" onClick={() => void test()}>
          Send a test
        </button>
        <button type="button" class="secondary" onClick={() => void load()}>
          Show deliveries
        </button>
        <button type="button" class="danger" onClick={onDelete}>
          Delete
        </button>
      </div>
      {deliveries && (
        // Focusable, so the log can be scrolled sideways by keyboard when it is wider than the screen.
        <div class="table-scroll" role="region" aria-labelledby={`deliveries-${hook.id}`} tabIndex={0}>
          <table>
            <caption id={`deliveries-${hook.id}`}>Latest deliveries</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <tr key={delivery.id}>
                  <td>{delivery.eventType}</td>
                  <td>{formatDate(delivery.createdAt)}</td>
                  <td>{delivery.status}</td>
                  <td>
                    {delivery.attempts.length === 0 ? (
                      'not sent yet'
                    ) : (
                      <ol class="attempts">
                        {delivery.attempts.map((attempt) => (
                          <li key={attempt.attempt} data-attempt={attempt.attempt}>
                            Attempt {attempt.attempt}, {formatDate(attempt.at)}: {attemptAnswer(attempt)}
                          </li>
                        ))}
                      </ol>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </li>
  );
}
