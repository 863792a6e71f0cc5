import { useState } from 'preact/hooks';
import { ApiError, identify } from '../api';
import { useApp } from '../session';

/** Sign in with an API key: the development key `npm start` prints, an owner's key, or a reviewer's (admin) key. */
export function SignIn() {
  const { signIn } = useApp();
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Enter your API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      signIn({ key: trimmed, role: await identify(trimmed) });
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) setError('That API key was not recognised. Check it and try again.');
      else setError(caught instanceof ApiError ? caught.message : 'The server could not be reached. Try again in a moment.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="sign-in">
      <h1>Sign in</h1>
      <p>Use your API key. Running the pipeline locally? `npm start` prints a development key.</p>
      <form onSubmit={submit} noValidate>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="current-password"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'sign-in-error' : undefined}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
