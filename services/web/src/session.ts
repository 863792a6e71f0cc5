import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { Api } from './api';
import { NO_FEATURES, type Features } from './features';

/** The signed-in key, kept in this browser's localStorage until the person signs out. */
export interface Session {
  key: string;
  role: 'owner' | 'admin';
}

const STORAGE_KEY = 'video-pipeline.session';

export function loadSession(storage: Storage = localStorage): Session | null {
  try {
    const saved = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return saved && typeof saved.key === 'string' && (saved.role === 'owner' || saved.role === 'admin') ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null, storage: Storage = localStorage): void {
  if (session) storage.setItem(STORAGE_KEY, JSON.stringify(session));
  else storage.removeItem(STORAGE_KEY);
}

export interface AppContext {
  session: Session | null;
  api: Api | null;
  /** What the API offers, as known so far (nothing until it has answered). */
  features: Features;
  /** The same, once the API has answered. */
  detectedFeatures: Promise<Features>;
  signIn(session: Session): void;
  signOut(): void;
}

export const AppContextValue = createContext<AppContext>({
  session: null,
  api: null,
  features: NO_FEATURES,
  detectedFeatures: Promise.resolve(NO_FEATURES),
  signIn: () => undefined,
  signOut: () => undefined,
});

export const useApp = () => useContext(AppContextValue);
