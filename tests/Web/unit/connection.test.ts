import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../../src/Web/src/shared/connection';
import type { RoomEvent } from '../../../src/Web/src/shared/codec';
import { eventFrame, FakeSocket, token, welcome } from './fakeSocket';

const ROOM = '!abcdefghabcdefgh@acme.example';

describe('Connection', () => {
  let events: RoomEvent[];
  let wiped: string[];
  let signedOut: string[];
  let conn: Connection;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.instances = [];
    events = [];
    wiped = [];
    signedOut = [];
    conn = new Connection(
      { url: 'ws://x/v1/ws', token: 'tc_secret', webSocket: FakeSocket as unknown as typeof WebSocket, bannerDelayMs: 3000 },
      { onEvent: (e) => events.push(e), onWipe: (r) => wiped.push(r), onSignedOut: (r) => signedOut.push(r) },
    );
  });
  afterEach(() => {
    conn.stop();
    vi.useRealTimers();
  });

  it('authenticates in the first frame, never in the URL', () => {
    conn.start();
    expect(FakeSocket.last.url).toBe('ws://x/v1/ws');
    FakeSocket.last.open();
    expect(FakeSocket.last.sent[0]).toEqual([1, [1], 'tc_secret', null, null, 'teamcomms-web']);
  });

  it('resumes from the last Position after a drop, with the banner only after the delay', () => {
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver(welcome(token(1)));
    expect(conn.state.value).toBe('open');
    FakeSocket.last.deliver(eventFrame(10, ROOM, 1, 'a'), eventFrame(11, ROOM, 2, 'b'), [69, token(2)]);
    expect(events.map((e) => e.seq)).toEqual([1n, 2n]);
    expect(typeof events[0].seq).toBe('bigint');

    FakeSocket.last.drop();
    expect(conn.state.value).toBe('offline');
    vi.advanceTimersByTime(2000);
    expect(conn.showBanner.value).toBe(false);
    // The first reconnect attempt (after 250 ms) finds the server down.
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last.drop();
    vi.advanceTimersByTime(1500);
    expect(conn.showBanner.value).toBe(true);

    vi.advanceTimersByTime(30_000);
    const s = FakeSocket.last;
    s.open();
    expect(s.sent[0]).toEqual([1, [1], 'tc_secret', token(2), null, 'teamcomms-web']);
    s.deliver(welcome(token(2)));
    expect(conn.showBanner.value).toBe(false);
    s.deliver(eventFrame(12, ROOM, 3, 'c'), [69, token(3)]);
    expect(events.map((e) => e.seq)).toEqual([1n, 2n, 3n]);
  });

  it('sends Received with the latest token at most every 200 ms', () => {
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver(welcome(token(1)));
    FakeSocket.last.deliver(eventFrame(10, ROOM, 1, 'a'), [69, token(2)]);
    FakeSocket.last.deliver(eventFrame(11, ROOM, 2, 'b'), [69, token(3)]);
    expect(FakeSocket.last.sent.filter((f) => f[0] === 4)).toHaveLength(0);
    vi.advanceTimersByTime(200);
    expect(FakeSocket.last.sent.filter((f) => f[0] === 4)).toEqual([[4, token(3)]]);
  });

  it('retries an unacknowledged send with the same txn after reconnecting, and resolves once', async () => {
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver(welcome(token(1)));
    const acked = conn.send(ROOM, 'message', { body: 'hello' }, 'txn-1');
    const first = FakeSocket.last.sent.find((f) => f[0] === 3)!;
    expect(first.slice(2)).toEqual([ROOM, 'txn-1', 'message', { body: 'hello' }]);
    FakeSocket.last.drop();
    vi.advanceTimersByTime(300);
    FakeSocket.last.open();
    FakeSocket.last.deliver(welcome(token(1)));
    const retry = FakeSocket.last.sent.find((f) => f[0] === 3)!;
    expect(retry.slice(2)).toEqual([ROOM, 'txn-1', 'message', { body: 'hello' }]);
    FakeSocket.last.deliver([67, retry[1], ROOM, 7, new Uint8Array(32), 1767225600007]);
    const ack = await acked;
    expect(ack.seq).toBe(7n);
    expect(ack.ts).toBe(1767225600007n);
  });

  it('answers calls and rejects them with the error name', async () => {
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver(welcome(token(1)));
    const ok = conn.call('rooms.get', { room: ROOM });
    const bad = conn.call('rooms.get', { room: 'nope' });
    const calls = FakeSocket.last.sent.filter((f) => f[0] === 5);
    FakeSocket.last.deliver([70, calls[0][1], { room_id: ROOM, head_seq: 5, unread: 2 }], [65, calls[1][1], 10, 'unknown_room', 'no such room']);
    expect(await ok).toEqual({ room_id: ROOM, head_seq: 5n, unread: 2 });
    await expect(bad).rejects.toMatchObject({ code: 'unknown_room' });
  });

  it('erases and signs out on Wipe (also during the handshake), and does not reconnect', () => {
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver([65, 0, 9, 'session_revoked', 'revoked'], [71, 'deactivated']);
    FakeSocket.last.drop(4006);
    expect(wiped).toEqual(['deactivated']);
    expect(conn.state.value).toBe('wiped');
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('signs out on a refused token (close 4001) without reconnecting', () => {
    conn.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver([65, 0, 7, 'token_invalid', 'unknown token']);
    FakeSocket.last.drop(4001);
    expect(signedOut).toEqual(['token_invalid']);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });
});
