import { useEffect, useMemo, useState } from 'preact/hooks';
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from 'preact-iso';
import { Api } from './api';
import { NO_FEATURES, detectFeatures, type Features } from './features';
import { AppContextValue, loadSession, saveSession, useApp, type Session } from './session';
import { SignIn } from './pages/sign-in';
import { Library } from './pages/library';
import { UploadPage } from './pages/upload';
import { NotFound } from './pages/not-found';
import { Reviews } from './pages/reviews';
import { Settings } from './pages/settings';

// The player (and hls.js with it) loads only on the player page, so the first load stays small.
const Player = lazy(() => import('./pages/player').then((module) => module.Player));

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [features, setFeatures] = useState<Features>(NO_FEATURES);
  // Asked once; pages that must not act on a guess (an upload picked before the answer came) await it.
  const [detected] = useState(detectFeatures);
  useEffect(() => {
    void detected.then(setFeatures);
  }, [detected]);
  const context = useMemo(
    () => ({
      session,
      api: session ? new Api(session.key) : null,
      features,
      detectedFeatures: detected,
      signIn: (next: Session) => {
        saveSession(next);
        setSession(next);
      },
      signOut: () => {
        saveSession(null);
        setSession(null);
      },
    }),
    [session, features, detected],
  );
  return (
    <AppContextValue.Provider value={context}>
      <LocationProvider>
        <Shell />
      </LocationProvider>
    </AppContextValue.Provider>
  );
}

function Shell() {
  const { session, signOut } = useApp();
  const { path } = useLocation();
  if (!session) {
    return (
      <main id="main">
        <SignIn />
      </main>
    );
  }
  const link = (href: string, label: string) => (
    <a href={href} aria-current={path === href ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          Videos
        </a>
        <nav aria-label="Main">
          {session.role === 'owner' && link('/', 'Library')}
          {session.role === 'owner' && link('/upload', 'Upload')}
          {session.role === 'owner' && link('/settings', 'Settings')}
          {session.role === 'admin' && link('/', 'Reviews')}
        </nav>
        <button type="button" class="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          <Router>
            <Route path="/" component={session.role === 'owner' ? Library : Reviews} />
            <Route path="/upload" component={UploadPage} />
            <Route path="/settings" component={Settings} />
            <Route path="/videos/:id" component={Player} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </>
  );
}
