import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientStore, sortRooms, toSummary } from '../../../src/Web/src/client/store';
import { normalizeResult } from '../../../src/Web/src/shared/codec';
import { eventFrame, FakeSocket, token, welcome } from './fakeSocket';

const A = '!aaaaaaaaaaaaaaaa@acme.example';
const B = '!bbbbbbbbbbbbbbbb@acme.example';

function room(id: string, over: Record<string, unknown> = {}) {
  return { room_id: id, name: id.slice(1, 4), topic: null, kind: 'group', history: 'full', archived: false, membership: 'join', role: 'member', joined_count: 2, head_seq: 5, head_ts: 1767225600005, read_seq: 5, unread: 0, ...over };
}

describe('room list order', () => {
  it('puts invitations first, then the most recent activity', () => {
    const rs = [
      toSummary(normalizeResult(room(A, { head_ts: 100 })) as Record<string, unknown>),
      toSummary(normalizeResult(room(B, { head_ts: 200 })) as Record<string, unknown>),
      toSummary(normalizeResult(room('!cccccccccccccccc@acme.example', { membership: 'invite', head_ts: 1 })) as Record<string, unknown>),
    ];
    expect(sortRooms(rs).map((r) => r.room_id[1])).toEqual(['c', 'b', 'a']);
  });
});

describe('ClientStore', () => {
  let store: ClientStore;
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.instances = [];
    (globalThis as { WebSocket: unknown }).WebSocket = FakeSocket;
    store = new ClientStore({ token: 'tc_x', userId: 'bob@acme.example', sessionId: 's' }, 'ws://x/v1/ws');
    store.connection.start();
    FakeSocket.last.open();
    FakeSocket.last.deliver(welcome(token(1)));
  });
  afterEach(() => {
    store.stop();
    vi.useRealTimers();
  });

  /** Answers the oldest unanswered call of `method`. */
  function answer(method: string, result: unknown) {
    const s = FakeSocket.last;
    const call = s.sent.find((f) => f[0] === 5 && f[2] === method && !(f as { answered?: boolean }).answered)!;
    (call as { answered?: boolean }).answered = true;
    s.deliver([70, call[1], result]);
  }

  it('takes unread counts from the server, counts live messages, and reconciles with the server', async () => {
    answer('rooms.list', [room(A, { unread: 2 }), room(B)]);
    answer('rooms.list', []); // the archived rooms
    await vi.waitFor(() => expect(store.roomsLoaded.value).toBe(true));
    expect(store.rooms.value.get(A)!.unread).toBe(2);
    expect(store.totalUnread.value).toBe(2);
    expect(document.title).toBe('(2) TeamComms');

    FakeSocket.last.deliver(eventFrame(20, B, 6, 'hi'), [69, token(2)]);
    expect(store.rooms.value.get(B)!.unread).toBe(1);
    expect(store.totalUnread.value).toBe(3);
    // My own message does not count, and marks the room read.
    FakeSocket.last.deliver(eventFrame(21, A, 6, 'mine', 'bob@acme.example'), [69, token(3)]);
    expect(store.rooms.value.get(A)!.unread).toBe(0);

    // Shortly after, the client asks the server for B's count and shows the server's figure.
    vi.advanceTimersByTime(1000);
    answer('rooms.get', room(B, { head_seq: 6, unread: 1 }));
    await vi.waitFor(() => expect(store.rooms.value.get(B)!.head_seq).toBe(6n));
    expect(store.rooms.value.get(B)!.unread).toBe(1);
    expect(document.title).toBe('(1) TeamComms');
  });
});
