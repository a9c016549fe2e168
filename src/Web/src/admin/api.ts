// The admin API (docs/operations.md "Admin console API" and the sections it names), typed for the console.
// Every call carries the admin session's token in the Authorization header; the server checks the role each time.
import { http } from '../shared/api';
import { ProtocolError } from '../shared/protocol';
import { adminSession, clearAdminSession } from './session';

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = adminSession.value?.token ?? null;
  try {
    return await http<T>(method, path, token, body);
  } catch (e) {
    // A revoked or expired console session (or a deactivated admin) signs the console out.
    if (e instanceof ProtocolError && (e.code === 'token_invalid' || e.code === 'token_expired' || e.code === 'session_revoked' || e.code === 'unauthenticated')) {
      clearAdminSession();
    }
    throw e;
  }
}

export const get = <T>(path: string) => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => call<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => call<T>('PUT', path, body);
export const patch = <T>(path: string, body: unknown) => call<T>('PATCH', path, body);
export const del = (path: string) => call<void>('DELETE', path);

/** A path segment: ids contain '@' and ':' (user ids, room ids). */
export const seg = (s: string) => encodeURIComponent(s);

/** Query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The CSV import posts text/csv, not JSON. */
export async function postCsv<T>(path: string, csv: string): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'text/csv; charset=utf-8' };
  const token = adminSession.value?.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers, body: csv, credentials: 'omit' });
  } catch {
    throw new ProtocolError('network', 'the server cannot be reached');
  }
  const json = (await res.json().catch(() => null)) as (T & { error?: { code: string; message: string }; errors?: { line: number; message: string }[] }) | null;
  if (!res.ok) {
    const lines = json?.errors?.map((e) => `line ${e.line}: ${e.message}`).join('\n');
    throw new ProtocolError(json?.error?.code ?? `http_${res.status}`, [json?.error?.message, lines].filter(Boolean).join('\n'), res.status);
  }
  return json as T;
}

// ---- shapes -----------------------------------------------------------------------------------------------------

export interface ConsoleInfo {
  user_id: string;
  display_name: string | null;
  roles: string[];
  sections: string[];
}

export interface UserRow {
  user_id: string;
  username: string;
  display_name: string;
  email: string | null;
  title: string | null;
  department: string | null;
  roles: string[];
  active: boolean;
  created_at: number;
  deactivated_at: number | null;
  last_login_at: number | null;
  has_password: boolean;
}

export interface UserPage {
  users: UserRow[];
  next: number | null;
  scanned: number;
}

export interface Device {
  session_id: string;
  device_name: string | null;
  created_at: number;
  last_seen_at: number | null;
  last_address: string | null;
  expires_at: number;
}

export interface RoomRow {
  room_id: string;
  name: string;
  kind: string;
  history: string;
  archived: boolean;
  creator: string;
  rules: (string | null)[];
}

export interface Role {
  name: string;
  description: string;
  built_in: boolean;
}

export interface Rule {
  name: string;
  expression: string;
  description: string | null;
  attributes: string[];
  rooms: string[];
  matches: number;
  updated_at: number;
}

export interface RulePreview {
  count: number;
  people: { user_id: string; display_name: string; department: string | null; title: string | null }[];
  attributes: string[];
}

export interface Policy {
  room_creation: string;
  room_creation_roles: string[];
  direct_messages: string;
  direct_allowlist: { from: string; to: string }[];
  invites: string;
  invite_roles: string[];
  exempt_roles: string[];
  self_editable: string[];
  updated_at: number | null;
  updated_by: string | null;
}

export interface Partner {
  server: string;
  base_url: string | null;
  note: string | null;
  added_at?: number;
  added_by?: string;
}

export interface ScimToken {
  id: string;
  name: string;
  created_at: number;
  created_by: string;
  revoked: boolean;
}

export interface AuditEntry {
  seq: number;
  ts: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  address: string | null;
  details: Record<string, string> | null;
  prev: string;
  hash: string;
}

export interface AuditVerify {
  ok: boolean;
  entries: number;
  last_seq: number;
  last_signed_seq: number;
  problems: { kind: string; seq: number; message: string }[];
}

export interface CsvImportResult {
  dry_run: boolean;
  created: string[];
  updated: { user_id: string; fields: string[] }[];
  deactivated: string[];
  reactivated: string[];
  [key: string]: unknown;
}

export interface Figures {
  server_time: number;
  started_at: number;
  uptime_seconds: number;
  connections: number;
  rooms: { total: number; archived: number };
  users: { total: number; active: number; deactivated: number };
  messages: { total: number; per_second: number };
  deliveries: number;
  queues: { queued_bytes: number; largest_queue_bytes: number; evictions: number };
  storage: { database_bytes: number; attachments_bytes: number; free_bytes: number | null };
  backups: { count: number; total_bytes: number; last: null | { file: string; created_at: number; size: number; sha256: string; recipients: string[]; kek_id: string } };
  escrow: { encryption_at_rest: boolean; kek_source: string | null; kek_id: string | null; kek_rotation_pending: boolean; recipients: string[]; configured: boolean };
}
