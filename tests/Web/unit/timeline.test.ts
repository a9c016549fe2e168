import { describe, expect, it } from 'vitest';
import type { RoomEvent } from '../../../src/Web/src/shared/codec';
import { Timeline, type FetchHistory, type HistoryPage } from '../../../src/Web/src/client/timeline';

const ROOM = '!abcdefghabcdefgh@acme.example';

function ev(seq: number): RoomEvent {
  return {
    v: 1n, id: new Uint8Array(32), room: ROOM, seq: BigInt(seq), prev: null, sender: 'alice@acme.example',
    type: 'message', ts: 1767225600000n + BigInt(seq), contentHash: new Uint8Array(32), content: { body: `m${seq}` },
  };
}

/** A server with events 1..head; answers rooms.history like §7 (from inclusive, next = following page's from). */
function fakeServer(head: () => number, calls: unknown[] = []): FetchHistory {
  return async (_room, { from, dir, limit }) => {
    calls.push({ from, dir, limit });
    const h = head();
    const page: HistoryPage = { events: [], next: null, min_seq: 1n, max_seq: BigInt(h) };
    if (dir === 'backward') {
      const start = from === undefined ? h : Number(from);
      const lo = Math.max(1, start - limit + 1);
      for (let s = start; s >= lo; s--) page.events.push(ev(s));
      page.next = lo > 1 ? BigInt(lo - 1) : null;
    } else {
      const start = from === undefined ? 1 : Number(from);
      const hi = Math.min(h, start + limit - 1);
      for (let s = start; s <= hi; s++) page.events.push(ev(s));
      page.next = hi < h ? BigInt(hi + 1) : null;
    }
    return page;
  };
}

const seqs = (t: Timeline) => t.events.value.map((e) => Number(e.seq));

describe('Timeline', () => {
  it('loads the newest page in ascending order and pages backward to seq 1', async () => {
    const t = new Timeline(ROOM, fakeServer(() => 250));
    await t.loadLatest();
    expect(seqs(t)).toEqual(Array.from({ length: 100 }, (_, i) => 151 + i));
    expect(t.hasOlder.value).toBe(true);
    await t.loadOlder();
    await t.loadOlder();
    expect(seqs(t)[0]).toBe(1);
    expect(seqs(t)).toHaveLength(250);
    expect(t.hasOlder.value).toBe(false);
  });

  it('ignores duplicates of events it has (a replay overlapping history)', async () => {
    const t = new Timeline(ROOM, fakeServer(() => 10));
    await t.loadLatest();
    t.add(ev(9));
    t.add(ev(10));
    t.add(ev(11));
    t.add(ev(11));
    expect(seqs(t)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('fills a hole from history before showing a later live event', async () => {
    let head = 10;
    const calls: unknown[] = [];
    const t = new Timeline(ROOM, fakeServer(() => head, calls));
    await t.loadLatest();
    head = 620;
    t.add(ev(620)); // 11..619 are missing
    await t.catchUp();
    expect(seqs(t)).toEqual(Array.from({ length: 620 }, (_, i) => i + 1));
    expect(calls.some((c) => (c as { dir: string }).dir === 'forward')).toBe(true);
  });

  it('keeps live events that arrive while the first page loads', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inner = fakeServer(() => 5);
    const t = new Timeline(ROOM, async (room, p) => {
      await gate;
      return inner(room, p);
    });
    const loading = t.loadLatest();
    t.add(ev(6));
    t.add(ev(7));
    release();
    await loading;
    expect(seqs(t)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('catches up after a reconnect that could not resume', async () => {
    let head = 3;
    const t = new Timeline(ROOM, fakeServer(() => head));
    await t.loadLatest();
    head = 8;
    await t.catchUp();
    expect(seqs(t)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
