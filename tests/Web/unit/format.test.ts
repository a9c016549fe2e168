import { afterEach, describe, expect, it } from 'vitest';
import { formatDate, formatTime, pageTitle, sameDay, unreadLabel } from '../../../src/Web/src/shared/format';
import { buddhistEra, lang, locale, t } from '../../../src/Web/src/shared/i18n';
import '../../../src/Web/src/client/messages';

// 2026-11-28 14:05 UTC = 21:05 in Bangkok.
const TS = 1795874700000n;

afterEach(() => {
  lang.value = 'en';
  buddhistEra.value = false;
});

describe('dates', () => {
  it('uses the Gregorian calendar for Thai by default', () => {
    lang.value = 'th';
    expect(locale.value).toBe('th-TH-u-ca-gregory');
    expect(formatDate(TS, locale.value, 'Asia/Bangkok')).toContain('2026');
    expect(formatDate(TS, locale.value, 'Asia/Bangkok')).not.toContain('2569');
  });
  it('switches Thai dates to the Buddhist era', () => {
    lang.value = 'th';
    buddhistEra.value = true;
    expect(locale.value).toBe('th-TH-u-ca-buddhist');
    expect(formatDate(TS, locale.value, 'Asia/Bangkok')).toContain('2569');
  });
  it('formats times on a 24-hour clock in the given zone', () => {
    expect(formatTime(TS, 'en-GB', 'Asia/Bangkok')).toBe('21:05');
    expect(formatTime(TS, 'th-TH-u-ca-gregory', 'UTC')).toBe('14:05');
  });
  it('tells days apart in the time zone', () => {
    const nextUtcDay = TS + 10n * 3600_000n; // 00:05 UTC on the 29th, 07:05 in Bangkok
    expect(sameDay(TS, nextUtcDay, 'UTC')).toBe(false);
    expect(sameDay(TS, TS + 3600_000n, 'Asia/Bangkok')).toBe(true);
  });
});

describe('unread', () => {
  it('labels and titles', () => {
    expect(unreadLabel(5)).toBe('5');
    expect(unreadLabel(120)).toBe('99+');
    expect(pageTitle(0)).toBe('TeamComms');
    expect(pageTitle(3)).toBe('(3) TeamComms');
  });
});

describe('i18n', () => {
  it('translates with placeholders in both languages', () => {
    expect(t('rooms.unread', { n: 4 })).toBe('4 unread');
    lang.value = 'th';
    expect(t('rooms.unread', { n: 4 })).toBe('ยังไม่ได้อ่าน 4');
    expect(t('no.such.key')).toBe('no.such.key');
  });
});
