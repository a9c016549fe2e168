// Dates, times and counts for the UI, in the current language and calendar (i18n.ts `locale`).
import { locale } from './i18n';

const cache = new Map<string, Intl.DateTimeFormat>();

function fmt(loc: string, options: Intl.DateTimeFormatOptions, timeZone?: string): Intl.DateTimeFormat {
  const key = `${loc}|${JSON.stringify(options)}|${timeZone ?? ''}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(loc, { ...options, timeZone });
    cache.set(key, f);
  }
  return f;
}

function toDate(ms: bigint | number): Date {
  return new Date(Number(ms));
}

/** "14:05" */
export function formatTime(ms: bigint | number, loc = locale.value, timeZone?: string): string {
  return fmt(loc, { hour: '2-digit', minute: '2-digit', hour12: false }, timeZone).format(toDate(ms));
}

/** "28 Nov 2026" / "28 พ.ย. 2026" (Gregorian) / "28 พ.ย. 2569" (Buddhist era). */
export function formatDate(ms: bigint | number, loc = locale.value, timeZone?: string): string {
  return fmt(loc, { day: 'numeric', month: 'short', year: 'numeric' }, timeZone).format(toDate(ms));
}

export function formatDateTime(ms: bigint | number, loc = locale.value, timeZone?: string): string {
  return `${formatDate(ms, loc, timeZone)} ${formatTime(ms, loc, timeZone)}`;
}

/** Same calendar day (in the given or local time zone)? Used for day separators in the timeline. */
export function sameDay(a: bigint | number, b: bigint | number, timeZone?: string): boolean {
  const f = fmt('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' }, timeZone);
  return f.format(toDate(a)) === f.format(toDate(b));
}

/** The ISO form for <time datetime>. */
export function isoTime(ms: bigint | number): string {
  return toDate(ms).toISOString();
}

/** Unread badge text: "99+" past 99. */
export function unreadLabel(n: number): string {
  return n > 99 ? '99+' : String(n);
}

/** The page title with the total unread count, "(3) TeamComms". */
export function pageTitle(totalUnread: number, base = 'TeamComms'): string {
  return totalUnread > 0 ? `(${unreadLabel(totalUnread)}) ${base}` : base;
}
