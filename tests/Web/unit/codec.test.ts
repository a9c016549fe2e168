import { describe, expect, it } from 'vitest';
import { encode as rawEncode } from '@msgpack/msgpack';
import {
  big, callFrame, decode, decodeEvent, decodeFrames, decodeServerFrame, encode, fromHex, hex, normalizeResult, base64Url,
} from '../../../src/Web/src/shared/codec';

describe('big', () => {
  it('lifts every integer width to BigInt', () => {
    // fixint, uint8, uint16, uint32, uint64 and int64 encodings of integers all decode to the same BigInt.
    for (const h of ['05', 'cc05', 'cd0005', 'ce00000005', 'cf0000000000000005', 'd30000000000000005', 'd005']) {
      expect(big(decode(fromHex(h)))).toBe(5n);
    }
  });
  it('keeps values past 2^53 exact', () => {
    expect(big(decode(fromHex('cf0020000000000001')))).toBe(9007199254740993n);
  });
  it('refuses floats', () => {
    expect(() => big(decode(fromHex('cb3ff8000000000000')))).toThrow(/float/);
    expect(() => big(1.5)).toThrow();
  });
});

describe('encode', () => {
  it('writes BigInts as integers in their shortest form, never floats', () => {
    expect(hex(encode(5n))).toBe('05');
    expect(hex(encode(300n))).toBe('cd012c');
    expect(hex(encode(1767225601000n))).toBe('cf0000019b76daabe8');
    expect(hex(encode(-1n))).toBe('ff');
    expect(hex(encode(18446744073709551615n))).toBe('cfffffffffffffffff');
    // A JS number past 32 bits would be a float64 in @msgpack/msgpack; it goes out as an integer.
    expect(hex(encode(1767225601000))).toBe('cf0000019b76daabe8');
    expect(hex(encode({ ts: 1767225601000 }))).toBe('81a27473cf0000019b76daabe8');
  });
  it('encodes a Call frame as documented', () => {
    // [5, req, method, params]
    expect(decode(callFrame(7n, 'rooms.mark_read', { room: '!r@x', seq: 12n }))).toEqual([5, 7, 'rooms.mark_read', { room: '!r@x', seq: 12 }]);
  });
});

describe('frames', () => {
  it('decodes several frames in one WebSocket message', () => {
    const msg = new Uint8Array([...rawEncode([66, 1, 1767225601000]), ...rawEncode([69, new Uint8Array([1, 2])])]);
    const frames = decodeFrames(msg).map(decodeServerFrame);
    expect(frames[0]).toEqual({ type: 'pong', req: 1n, serverTime: 1767225601000n });
    expect(frames[1]).toEqual({ type: 'position', resume: new Uint8Array([1, 2]) });
  });
  it('skips unknown frame types', () => {
    expect(decodeServerFrame([99, 'x'])).toEqual({ type: 'unknown', frameType: 99 });
  });
  it('normalizes ids, seqs and timestamps in call results', () => {
    const r = normalizeResult({ head_seq: 3, head_ts: 1767225601000, unread: 2, next: null, name: 'a' }) as Record<string, unknown>;
    expect(r).toEqual({ head_seq: 3n, head_ts: 1767225601000n, unread: 2, next: null, name: 'a' });
  });
});

describe('test vectors (docs/test-vectors.json)', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const vectors = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../docs/test-vectors.json'), 'utf8'));
  it('decodes the event chain with BigInt seq and ts, and base64url ids', () => {
    expect(vectors.events.length).toBeGreaterThanOrEqual(3);
    for (const v of vectors.events) {
      const e = decodeEvent(decode(fromHex(v.wire_hex)));
      expect(e.seq).toBe(BigInt(v.seq));
      expect(e.ts).toBe(BigInt(v.ts));
      expect(e.sender).toBe(v.sender);
      expect(base64Url(e.id)).toBe(v.id_base64url);
    }
  });
  it('decodes the server frames', () => {
    for (const v of vectors.server_frames) {
      const [frame] = decodeFrames(fromHex(v.hex)).map(decodeServerFrame);
      expect(frame.type).not.toBe('unknown');
      if (frame.type === 'event') {
        expect(typeof frame.pos).toBe('bigint');
        expect(typeof frame.event.seq).toBe('bigint');
      }
    }
  });
  it('decodes a Thai message body', () => {
    const e = decodeEvent(decode(fromHex(vectors.events[2].wire_hex)));
    expect(String(e.content?.body)).toMatch(/[\u0E00-\u0E7F]/);
  });
});
