// Pure helpers of the console (unit-tested in tests/Web/unit/admin-format.test.ts).
import type { AuditEntry } from './api';

/** "1.5 MiB": binary units, one decimal from KiB up. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** "3d 4h 5m", "4h 5m", "5m 7s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${s % 60}s`;
}

/** One CSV field (RFC 4180), with formula injection neutralized for spreadsheets (=, +, -, @ at the start). */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** The audit log as CSV, one row per entry with its hash chain, for spreadsheets and auditors. */
export function auditCsv(entries: AuditEntry[]): string {
  return toCsv(['seq', 'time', 'actor', 'action', 'target', 'address', 'details', 'prev', 'hash'],
    entries.map((e) => [e.seq, e.time, e.actor, e.action, e.target, e.address, e.details, e.prev, e.hash]));
}

/** Parses "a, b ,c" into ["a","b","c"] (roles, lists in forms). */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Which console sections to show in the menu, in order, among those the server granted. */
export const menuSections = ['users', 'rooms', 'roles', 'rules', 'policies', 'scim', 'audit', 'retention', 'moderation', 'incidents', 'acks', 'exports', 'approvals', 'figures'] as const;
export type MenuSection = (typeof menuSections)[number];

export function visibleSections(granted: readonly string[]): MenuSection[] {
  return menuSections.filter((s) => granted.includes(s));
}

/** Offers a text file to the user as a download (a blob URL: the data never goes through a server URL). */
export function download(name: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
