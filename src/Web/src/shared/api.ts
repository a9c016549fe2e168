// The HTTP API (docs/protocol.md §2): JSON with snake_case names, errors as {"error": {"code", "message"}}.
// Tokens travel only in the Authorization header, never in URLs.
import { ProtocolError } from './protocol';

export async function http<T>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' });
  } catch {
    throw new ProtocolError('network', 'the server cannot be reached');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ProtocolError(err?.code ?? `http_${res.status}`, err?.message ?? res.statusText, res.status);
  }
  return json as T;
}

export interface LoginResult {
  access_token: string;
  session_id: string;
  user_id: string;
  expires_at: number;
}

export function login(username: string, password: string, deviceName: string): Promise<LoginResult> {
  return http<LoginResult>('POST', '/v1/login', null, { username, password, device_name: deviceName });
}

export function logout(token: string): Promise<void> {
  return http<void>('POST', '/v1/logout', token);
}

export interface SessionInfo {
  session_id: string;
  device_name: string | null;
  created_at: number;
  last_seen_at: number | null;
  last_address: string | null;
  expires_at: number;
  current: boolean;
}

export async function listSessions(token: string): Promise<SessionInfo[]> {
  return (await http<{ sessions: SessionInfo[] }>('GET', '/v1/sessions', token)).sessions;
}

export function revokeSession(token: string, sessionId: string): Promise<void> {
  return http<void>('DELETE', `/v1/sessions/${encodeURIComponent(sessionId)}`, token);
}

export function setupPassword(setupToken: string, password: string): Promise<{ user_id: string }> {
  return http<{ user_id: string }>('POST', '/v1/setup', null, { token: setupToken, password });
}
