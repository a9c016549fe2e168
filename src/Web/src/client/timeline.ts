// One room's timeline: a contiguous run of events in seq order, grown backward by history pages (scroll-back) and
// forward by live events. A live event past a hole (for example after a resume the server refused) fills the hole
// from history first, so the timeline never shows a gap and never a duplicate.
import { batch, computed, signal } from '@preact/signals';
import type { RoomEvent } from '../shared/codec';

export interface HistoryPage {
  events: RoomEvent[];
  next: bigint | null;
  min_seq: bigint;
  max_seq: bigint;
}

/** rooms.history (§7): `from` inclusive; backward from the newest without it. */
export type FetchHistory = (room: string, params: { from?: bigint; dir: 'backward' | 'forward'; limit: number }) => Promise<HistoryPage>;

export const PAGE_SIZE = 100;

export class Timeline {
  /** Ascending by seq, no holes. */
  readonly events = signal<RoomEvent[]>([]);
  /** The lowest seq this user may see (history visibility), from the server. */
  readonly minSeq = signal<bigint>(1n);
  readonly loadingOlder = signal(false);
  readonly loaded = signal(false);
  readonly error = signal<string | null>(null);
  readonly hasOlder = computed(() => {
    const first = this.events.value[0];
    return this.loaded.value && first !== undefined && first.seq > this.minSeq.value;
  });

  private filling: Promise<void> | null = null;
  private queued: RoomEvent[] = [];

  constructor(readonly roomId: string, private readonly fetch: FetchHistory) {}

  get lastSeq(): bigint {
    const ev = this.events.value;
    return ev.length ? ev[ev.length - 1].seq : 0n;
  }

  /** Seeds the timeline from the local cache, before the server answers. */
  seed(events: RoomEvent[]): void {
    if (!this.loaded.value && this.events.value.length === 0) this.events.value = contiguousTail(events);
  }

  /** Loads the newest page (and replaces a cached seed). */
  async loadLatest(): Promise<void> {
    try {
      const page = await this.fetch(this.roomId, { dir: 'backward', limit: PAGE_SIZE });
      const events = [...page.events].sort(bySeq);
      batch(() => {
        this.minSeq.value = page.min_seq;
        const mine = this.events.value;
        // Keep live events that arrived while the page was on its way (they follow the page without a hole).
        const last = events.length ? events[events.length - 1].seq : 0n;
        const tail = mine.filter((e) => e.seq > last);
        this.events.value = tail.length && tail[0].seq === last + 1n ? [...events, ...tail] : events;
        this.loaded.value = true;
        this.error.value = null;
      });
      this.flushQueued();
    } catch (err) {
      this.error.value = err instanceof Error ? err.message : String(err);
    }
  }

  /** Scroll-back: the page before the oldest loaded event. */
  async loadOlder(): Promise<void> {
    if (this.loadingOlder.value || !this.hasOlder.value) return;
    const first = this.events.value[0];
    this.loadingOlder.value = true;
    try {
      const page = await this.fetch(this.roomId, { from: first.seq - 1n, dir: 'backward', limit: PAGE_SIZE });
      const older = page.events.filter((e) => e.seq < first.seq).sort(bySeq);
      batch(() => {
        this.minSeq.value = page.min_seq;
        if (older.length && older[older.length - 1].seq === first.seq - 1n) {
          this.events.value = [...older, ...this.events.value];
        }
      });
    } catch (err) {
      this.error.value = err instanceof Error ? err.message : String(err);
    } finally {
      this.loadingOlder.value = false;
    }
  }

  /** A live or replayed event of this room. */
  add(event: RoomEvent): void {
    if (!this.loaded.value) {
      // The first page is on its way; keep the event for after it.
      this.queued.push(event);
      return;
    }
    if (this.filling) {
      this.queued.push(event);
      return;
    }
    const last = this.lastSeq;
    if (event.seq <= last) return; // already have it (a replay overlapping history): no duplicate
    if (event.seq === last + 1n) {
      this.events.value = [...this.events.value, event];
      return;
    }
    // A hole between the last event and this one: fetch it, then add what was queued.
    this.queued.push(event);
    this.filling = this.fillFrom(last + 1n).finally(() => {
      this.filling = null;
      this.flushQueued();
    });
  }

  /** After a reconnect that could not resume: catch up from history. */
  async catchUp(): Promise<void> {
    if (!this.loaded.value) return;
    await (this.filling ??= this.fillFrom(this.lastSeq + 1n).finally(() => {
      this.filling = null;
      this.flushQueued();
    }));
  }

  private async fillFrom(from: bigint): Promise<void> {
    let next: bigint | null = from;
    try {
      while (next !== null) {
        const page: HistoryPage = await this.fetch(this.roomId, { from: next, dir: 'forward', limit: 500 });
        const evs = page.events.filter((e) => e.seq > this.lastSeq).sort(bySeq);
        if (evs.length && evs[0].seq === this.lastSeq + 1n) this.events.value = [...this.events.value, ...contiguousTail(evs, this.lastSeq)];
        next = page.next;
        if (evs.length === 0) break;
      }
    } catch (err) {
      this.error.value = err instanceof Error ? err.message : String(err);
    }
  }

  private flushQueued(): void {
    const q = this.queued.sort(bySeq);
    this.queued = [];
    for (const e of q) this.add(e);
  }
}

function bySeq(a: RoomEvent, b: RoomEvent): number {
  return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
}

/** The longest contiguous run at the end of `events` (sorted), optionally starting right after `after`. */
function contiguousTail(events: RoomEvent[], after?: bigint): RoomEvent[] {
  const sorted = [...events].sort(bySeq);
  if (after !== undefined) {
    const out: RoomEvent[] = [];
    let expect = after + 1n;
    for (const e of sorted) {
      if (e.seq < expect) continue;
      if (e.seq !== expect) break;
      out.push(e);
      expect++;
    }
    return out;
  }
  let start = sorted.length - 1;
  while (start > 0 && sorted[start - 1].seq === sorted[start].seq - 1n) start--;
  return sorted.slice(Math.max(start, 0));
}
