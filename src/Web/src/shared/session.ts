// The signed-in session of this browser: the access token, kept in localStorage so a reload stays signed in.
// It is never put in a URL, and logout or the server's wipe command erase it (with the IndexedDB cache, cache.ts).
import { signal } from '@preact/signals';
import { safeStorage } from './i18n';

export interface StoredSession {
  token: string;
  userId: string;
  sessionId: string;
}

const KEY = 'tc.session';

function read(): StoredSession | null {
  try {
    const raw = safeStorage()?.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as StoredSession;
    return typeof v.token === 'string' && typeof v.userId === 'string' ? v : null;
  } catch {
    return null;
  }
}

export const session = signal<StoredSession | null>(read());

export function saveSession(value: StoredSession): void {
  safeStorage()?.setItem(KEY, JSON.stringify(value));
  session.value = value;
}

export function clearSession(): void {
  safeStorage()?.removeItem(KEY);
  session.value = null;
}
