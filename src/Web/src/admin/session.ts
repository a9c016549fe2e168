// The admin console's own session: a separate device session ("admin console") kept in sessionStorage, so it ends
// with the tab and never mixes with the chat client's session in the same browser. The token is sent only in the
// Authorization header (shared/api.ts), never in a URL.
import { signal } from '@preact/signals';

export interface AdminSession {
  token: string;
  userId: string;
  sessionId: string;
}

const KEY = 'tc.admin.session';

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

function read(): AdminSession | null {
  try {
    const raw = storage()?.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as AdminSession;
    return typeof v.token === 'string' && typeof v.userId === 'string' ? v : null;
  } catch {
    return null;
  }
}

export const adminSession = signal<AdminSession | null>(read());

export function saveAdminSession(value: AdminSession): void {
  storage()?.setItem(KEY, JSON.stringify(value));
  adminSession.value = value;
}

export function clearAdminSession(): void {
  storage()?.removeItem(KEY);
  adminSession.value = null;
}
