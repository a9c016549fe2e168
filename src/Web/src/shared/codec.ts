// MessagePack codec for the TeamComms WebSocket protocol (docs/protocol.md §3, §5, §6).
//
// Integers: the server writes every integer in its shortest form, so the same field arrives as a fixint, a uint32
// or a uint64 depending on its value. Ids, sequence numbers, positions and timestamps are normalized to BigInt here,
// whatever width they came in, so that the rest of the app compares and sorts them exactly (a timestamp needs more
// than 32 bits; a future position may need more than 53). Outgoing BigInts are written as integers in their
// shortest form, never as floats.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { FrameType } from './protocol';

export type Wire = null | boolean | number | bigint | string | Uint8Array | Wire[] | { [key: string]: Wire };

/** Thrown when a frame or field does not have the shape the protocol documents. */
export class CodecError extends Error {
  override name = 'CodecError';
}

// useBigInt64: int64/uint64 arrive as bigint, so no precision is lost beyond 2^53; smaller widths arrive as number
// and are lifted by big().
const decoder = new Decoder({ useBigInt64: true });
const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });

/** An integer field of any MessagePack width as a BigInt; refuses floats and other types. */
export function big(value: unknown, field = 'integer'): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw new CodecError(`${field}: expected an integer, got ${typeof value === 'number' ? 'a float' : typeof value}`);
}

/** Like big() but keeps nil as null. */
export function bigOrNull(value: unknown, field = 'integer'): bigint | null {
  return value === null || value === undefined ? null : big(value, field);
}

/** A count (unread, joined_count…) as a JS number: counts never approach 2^53. */
export function count(value: unknown, field = 'count'): number {
  return Number(big(value, field));
}

export function str(value: unknown, field = 'string'): string {
  if (typeof value !== 'string') throw new CodecError(`${field}: expected a string`);
  return value;
}

export function bin(value: unknown, field = 'binary'): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CodecError(`${field}: expected binary`);
  return value;
}

/** Prepares a value for the wire so that every integer is a MessagePack integer (§ Conventions): @msgpack/msgpack
 * writes a JS number beyond 32 bits as a float64, so such integers go out as BigInt (uint64/int64); integers within
 * 32 bits go out as numbers, which the encoder writes in their shortest form. */
export function toWire(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= -2147483648n && value <= 4294967295n ? Number(value) : value;
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) && (value < -2147483648 || value > 4294967295) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== undefined) out[k] = toWire(v);
  }
  return out;
}

export function encode(value: unknown): Uint8Array {
  return encoder.encode(toWire(value));
}

/** Decodes every frame of one WebSocket message (frames are back to back, §3). */
export function decodeFrames(bytes: Uint8Array): unknown[][] {
  const frames: unknown[][] = [];
  for (const item of decoder.decodeMulti(bytes)) {
    if (!Array.isArray(item) || item.length === 0) throw new CodecError('a frame is a non-empty array');
    frames.push(item);
  }
  return frames;
}

export function decode(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

// ---- Events (§6.1) ----

export interface RoomEvent {
  v: bigint;
  id: Uint8Array;
  room: string;
  seq: bigint;
  prev: Uint8Array | null;
  sender: string;
  type: string;
  ts: bigint;
  contentHash: Uint8Array;
  /** null when redacted or removed by retention. */
  content: Record<string, unknown> | null;
}

export function decodeEvent(value: unknown): RoomEvent {
  if (!Array.isArray(value) || value.length < 10) throw new CodecError('event: expected an array of 10 elements');
  const content = value[9];
  if (content !== null && (typeof content !== 'object' || Array.isArray(content) || content instanceof Uint8Array)) {
    throw new CodecError('event content: expected a map or nil');
  }
  return {
    v: big(value[0], 'v'),
    id: bin(value[1], 'id'),
    room: str(value[2], 'room'),
    seq: big(value[3], 'seq'),
    prev: value[4] === null ? null : bin(value[4], 'prev'),
    sender: str(value[5], 'sender'),
    type: str(value[6], 'type'),
    ts: big(value[7], 'ts'),
    contentHash: bin(value[8], 'content_hash'),
    content: content as Record<string, unknown> | null,
  };
}

// ---- Frames (§5) ----

export type ServerFrame =
  | { type: 'welcome'; version: bigint; user: string; session: string; resume: Uint8Array; serverTime: bigint; limits: Record<string, unknown> }
  | { type: 'error'; req: bigint; code: number; name: string; message: string }
  | { type: 'pong'; req: bigint; serverTime: bigint }
  | { type: 'ack'; req: bigint; room: string; seq: bigint; id: Uint8Array; ts: bigint }
  | { type: 'event'; pos: bigint; event: RoomEvent }
  | { type: 'position'; resume: Uint8Array }
  | { type: 'result'; req: bigint; result: unknown }
  | { type: 'wipe'; reason: string }
  | { type: 'notify'; room: string; seq: bigint; notify: boolean; reason: string }
  | { type: 'pending'; req: bigint; room: string; txn: string }
  | { type: 'unknown'; frameType: number };

/** Integer keys of call results that are ids, sequence numbers or timestamps (normalized to BigInt). */
const bigKeys = new Set([
  'seq', 'head_seq', 'head_ts', 'read_seq', 'min_seq', 'max_seq', 'ts', 'server_time', 'pos',
  'created_at', 'updated_at', 'last_login_at', 'last_seen_at', 'expires_at', 'from', 'position',
]);

/** Walks a call result and lifts the integer fields named in bigKeys to BigInt; `events` arrays become RoomEvents.
 * `next` is a seq in rooms.history but an opaque cursor in directory.search, so it is lifted only when an integer. */
export function normalizeResult(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    if (key === 'events') return value.map(decodeEvent);
    return value.map((v) => normalizeResult(v));
  }
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) {
    if ((bigKeys.has(key) || key === 'next') && (typeof value === 'number' || typeof value === 'bigint')) return big(value, key);
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = normalizeResult(v, k);
  return out;
}

export function decodeServerFrame(f: unknown[]): ServerFrame {
  const type = Number(big(f[0], 'frame type'));
  switch (type) {
    case FrameType.Welcome:
      return {
        type: 'welcome', version: big(f[1], 'version'), user: str(f[2], 'user'), session: str(f[3], 'session'),
        resume: bin(f[4], 'resume'), serverTime: big(f[5], 'server_time'), limits: (f[6] ?? {}) as Record<string, unknown>,
      };
    case FrameType.Error:
      return { type: 'error', req: big(f[1], 'req'), code: Number(big(f[2], 'code')), name: str(f[3], 'name'), message: str(f[4] ?? '', 'message') };
    case FrameType.Pong:
      return { type: 'pong', req: big(f[1], 'req'), serverTime: big(f[2], 'server_time') };
    case FrameType.Ack:
      return { type: 'ack', req: big(f[1], 'req'), room: str(f[2], 'room'), seq: big(f[3], 'seq'), id: bin(f[4], 'id'), ts: big(f[5], 'ts') };
    case FrameType.Event:
      return { type: 'event', pos: big(f[1], 'pos'), event: decodeEvent(f[2]) };
    case FrameType.Position:
      return { type: 'position', resume: bin(f[1], 'resume') };
    case FrameType.Result:
      return { type: 'result', req: big(f[1], 'req'), result: normalizeResult(f[2]) };
    case FrameType.Wipe:
      return { type: 'wipe', reason: typeof f[1] === 'string' ? f[1] : '' };
    case FrameType.Notify:
      return { type: 'notify', room: str(f[1], 'room'), seq: big(f[2], 'seq'), notify: f[3] === true, reason: typeof f[4] === 'string' ? f[4] : '' };
    case FrameType.Pending:
      return { type: 'pending', req: big(f[1], 'req'), room: str(f[2], 'room'), txn: str(f[3], 'txn') };
    default:
      // §3: readers skip frame types they do not know.
      return { type: 'unknown', frameType: type };
  }
}

// ---- Client frames ----

export const PROTOCOL_VERSIONS = [1];

export function helloFrame(token: string, resume: Uint8Array | null, client: string): Uint8Array {
  return encode([FrameType.Hello, PROTOCOL_VERSIONS, token, resume, null, client]);
}

export function pingFrame(req: bigint): Uint8Array {
  return encode([FrameType.Ping, req]);
}

export function sendFrame(req: bigint, room: string, txn: string, type: string, content: Record<string, unknown>): Uint8Array {
  return encode([FrameType.Send, req, room, txn, type, content]);
}

export function receivedFrame(resume: Uint8Array): Uint8Array {
  return encode([FrameType.Received, resume]);
}

export function callFrame(req: bigint, method: string, params: Record<string, unknown>): Uint8Array {
  return encode([FrameType.Call, req, method, params]);
}

// ---- Ids ----

/** Unpadded base64url, as event ids appear in JSON and logs (§6.3). */
export function base64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}
