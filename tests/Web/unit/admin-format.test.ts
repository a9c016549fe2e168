import { describe, expect, it } from 'vitest';
import { auditCsv, csvField, formatBytes, formatDuration, splitList, visibleSections } from '../../../src/Web/src/admin/format';
import { query } from '../../../src/Web/src/admin/api';

describe('admin console formatting', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024 * 1024)).toBe('5.0 GiB');
    expect(formatBytes(null)).toBe('–');
  });

  it('formats uptime', () => {
    expect(formatDuration(65)).toBe('1m 5s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3h 2m');
    expect(formatDuration(2 * 86400 + 3600 + 60)).toBe('2d 1h 1m');
  });

  it('writes RFC 4180 CSV and neutralizes spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField(null)).toBe('');
    expect(csvField('ภาษาไทย')).toBe('ภาษาไทย');
    const csv = auditCsv([{ seq: 7, ts: 1, time: '2026-11-28T09:00:00.000Z', actor: 'admin@x', action: 'user.create', target: 'bob@x',
      address: '127.0.0.1', details: { name: 'Bob, Jr.' }, prev: 'p', hash: 'h' }]);
    expect(csv).toBe('seq,time,actor,action,target,address,details,prev,hash\r\n'
      + '7,2026-11-28T09:00:00.000Z,admin@x,user.create,bob@x,127.0.0.1,"{""name"":""Bob, Jr.""}",p,h\r\n');
  });

  it('shows only the menu sections the server granted, in menu order', () => {
    expect(visibleSections(['audit', 'users', 'users.edit', 'figures'])).toEqual(['users', 'audit', 'figures']);
    expect(visibleSections([])).toEqual([]);
  });

  it('builds query strings without empty values', () => {
    expect(query({ q: 'ann smith', status: undefined, never_logged_in: undefined, archived: false, limit: 50 })).toBe('?q=ann+smith&archived=false&limit=50');
    expect(query({})).toBe('');
    expect(splitList(' hr,  security_officer ,,')).toEqual(['hr', 'security_officer']);
  });
});
