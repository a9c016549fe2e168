// The timeline: role="log" (polite announcements of new messages), one list item per event, virtualized (only the
// items near the viewport are in the DOM, so 10,000 messages scroll smoothly), anchored (loading older pages or
// measuring items never moves the message in view; the view follows new messages only when already at the bottom).
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RoomEvent } from '../shared/codec';
import { formatDate, formatDateTime, formatTime, isoTime, sameDay } from '../shared/format';
import { lang, t } from '../shared/i18n';
import type { ClientStore, PendingMessage, RoomSummary } from './store';
import type { Timeline } from './timeline';
import { aggregate, displayBody, idOf as idOfEvent, type Aggregate } from './relations';
import { Attachments, MessageActions, Poll, Reactions, ThreadSummary } from './MessageParts';
import { AckControls, Receipts } from './Attention';

const ESTIMATE = 52; // px: a one-line message with its header; measured heights replace it
const OVERSCAN = 600; // px rendered above and below the viewport
const LOAD_OLDER_AT = 800; // px from the top: start fetching the previous page
const BOTTOM_SLACK = 40; // px: "at the bottom" tolerance

interface Anchor {
  key: string;
  /** Item top minus scrollTop when captured. */
  offset: number;
}

export function TimelineView({ store, room, timeline }: { store: ClientStore; room: RoomSummary; timeline: Timeline }) {
  const all = timeline.events.value;
  // Relations (edits, reactions, replies, votes, redactions) fold into their targets; the list shows the rest.
  const agg = useMemo(() => aggregate(all, store.userId), [all]);
  const events = agg.visible;
  const indexBySeq = useMemo(() => new Map(events.map((e, i) => [String(e.seq), i])), [events]);
  const indexOfKey = (_: RoomEvent[], key: string) => indexBySeq.get(key) ?? -1;
  const pending = store.pendingFor(room.room_id, timeline.lastSeq);
  const scroller = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const heights = useRef(new Map<string, number>());
  const offsetsRef = useRef<number[]>([0]);
  const atBottom = useRef(true);
  const anchor = useRef<Anchor | null>(null);
  const pendingFocus = useRef<string | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);
  const [, setVersion] = useState(0);
  const [unseen, setUnseen] = useState(false);
  const lastCount = useRef(events.length);

  // Prefix sums of item heights: offsets[i] is the top of item i.
  const n = events.length;
  const offsets = new Array<number>(n + 1);
  offsets[0] = 0;
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + (heights.current.get(keyOf(events[i])) ?? ESTIMATE);
  offsetsRef.current = offsets;
  const total = offsets[n];

  const base = list.current?.offsetTop ?? 0; // the list's top inside the scroller (headers above it)
  const start = Math.max(0, lowerBound(offsets, scrollTop - base - OVERSCAN) - 1);
  let end = lowerBound(offsets, scrollTop - base + viewport + OVERSCAN);
  end = Math.min(n, Math.max(end, start + 1));
  const visible = events.slice(start, end);

  // After every render: measure the rendered items, then restore the anchor (or stay at the bottom).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    let changed = false;
    for (const li of el.querySelectorAll<HTMLElement>('li[data-key]')) {
      const k = li.dataset.key!;
      const h = li.offsetHeight;
      if (h > 0 && heights.current.get(k) !== h) {
        heights.current.set(k, h);
        changed = true;
      }
    }
    if (changed) {
      setVersion((v) => v + 1);
      return;
    }
    if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor.current) {
      const i = indexOfKey(events, anchor.current.key);
      if (i >= 0) {
        const want = (list.current?.offsetTop ?? 0) + offsetsRef.current[i] - anchor.current.offset;
        if (Math.abs(el.scrollTop - want) > 0.5) el.scrollTop = want;
      }
    }
    if (pendingFocus.current) {
      const li = el.querySelector<HTMLElement>(`li[data-key="${pendingFocus.current}"]`);
      if (li) {
        pendingFocus.current = null;
        li.focus({ preventScroll: false });
      }
    }
  });

  // New messages while scrolled up: offer a jump instead of moving the view.
  useEffect(() => {
    if (events.length > lastCount.current && !atBottom.current) setUnseen(true);
    lastCount.current = events.length;
  }, [events.length]);

  // Sending a message shows it: the view goes to the bottom.
  const pendingCount = useRef(pending.length);
  useEffect(() => {
    if (pending.length > pendingCount.current) jump();
    pendingCount.current = pending.length;
  }, [pending.length]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    setViewport(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Opening a room starts at the bottom.
  useEffect(() => {
    atBottom.current = true;
    anchor.current = null;
    setUnseen(false);
  }, [room.room_id]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const top = el.scrollTop;
    atBottom.current = el.scrollHeight - top - el.clientHeight < BOTTOM_SLACK;
    if (atBottom.current) {
      setUnseen(false);
      store.maybeMarkRead(room.room_id);
    }
    // Anchor: the first item whose bottom is below the top of the viewport.
    const offs = offsetsRef.current;
    const listTop = list.current?.offsetTop ?? 0;
    const i = Math.min(events.length - 1, Math.max(0, lowerBound(offs, top - listTop + 1) - 1));
    if (i >= 0 && events[i]) anchor.current = { key: keyOf(events[i]), offset: listTop + offs[i] - top };
    setScrollTop(top);
    if (top < LOAD_OLDER_AT && timeline.hasOlder.value && !timeline.loadingOlder.value) void timeline.loadOlder();
  };

  // Keyboard: arrows move between messages, Home/End to the first/last loaded one.
  const onKeyDown = (e: KeyboardEvent) => {
    if (!['ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key)) return;
    const el = scroller.current;
    if (!el || events.length === 0) return;
    const current = (document.activeElement as HTMLElement | null)?.closest?.('li[data-key]') as HTMLElement | null;
    let i = current ? indexOfKey(events, current.dataset.key!) : -1;
    if (e.key === 'ArrowUp') i = i < 0 ? events.length - 1 : Math.max(0, i - 1);
    else if (e.key === 'ArrowDown') i = i < 0 ? events.length - 1 : Math.min(events.length - 1, i + 1);
    else if (e.key === 'Home') i = 0;
    else i = events.length - 1;
    e.preventDefault();
    const key = keyOf(events[i]);
    const listTop = list.current?.offsetTop ?? 0;
    const top = listTop + offsetsRef.current[i];
    const bottom = listTop + offsetsRef.current[i + 1];
    if (top < el.scrollTop) el.scrollTop = top;
    else if (bottom > el.scrollTop + el.clientHeight) el.scrollTop = bottom - el.clientHeight;
    const li = el.querySelector<HTMLElement>(`li[data-key="${key}"]`);
    if (li) li.focus();
    else {
      pendingFocus.current = key;
      setScrollTop(el.scrollTop);
    }
    if (i === 0 && timeline.hasOlder.value) void timeline.loadOlder();
  };

  const jump = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = true;
    el.scrollTop = el.scrollHeight;
    setUnseen(false);
  };

  const label = t('timeline.label', { room: store.roomLabel(room) });
  void lang.value; // re-render on language change
  return (
    <div class="timeline-wrap">
      <div
        ref={scroller}
        class="timeline"
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={label}
        aria-busy={timeline.loadingOlder.value || !timeline.loaded.value ? 'true' : 'false'}
        tabIndex={0}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
      >
        {timeline.loaded.value && !timeline.hasOlder.value && <p class="timeline-start">{t('timeline.start')}</p>}
        {timeline.error.value && !timeline.loaded.value && <p class="error">{timeline.error.value}</p>}
        {timeline.loadingOlder.value && <p class="timeline-loading" role="status">{t('timeline.loadingOlder')}</p>}
        <ol ref={list} class="messages" style={{ paddingTop: `${offsets[start]}px`, paddingBottom: `${total - offsets[end]}px` }}>
          {visible.map((e, j) => (
            <EventItem key={keyOf(e)} store={store} room={room} agg={agg} event={e} prev={events[start + j - 1]} index={start + j} size={n} />
          ))}
        </ol>
        {pending.length > 0 && (
          <ol class="messages pending" aria-label={t('timeline.sending')}>
            {pending.map((p) => <PendingItem key={p.txn} store={store} p={p} />)}
          </ol>
        )}
      </div>
      {unseen && (
        <button class="jump primary" onClick={jump}>{t('timeline.jump')}</button>
      )}
    </div>
  );
}

function EventItem({ store, room, agg, event: e, prev, index, size }: { store: ClientStore; room: RoomSummary; agg: Aggregate; event: RoomEvent; prev?: RoomEvent; index: number; size: number }) {
  const newDay = !prev || !sameDay(prev.ts, e.ts);
  const isMessage = e.type === 'message' || e.type === 'poll' || e.type.startsWith('x.');
  const grouped = !newDay && prev && prev.sender === e.sender && prev.type === 'message' && e.type === 'message' && e.ts - prev.ts < 300_000n;
  const mine = e.sender === store.userId;
  const body = isMessage ? displayBody(agg, e) : null;
  const edited = agg.edits.has(String(idOfEvent(e)));
  return (
    <li
      data-key={keyOf(e)}
      data-seq={String(e.seq)}
      tabIndex={-1}
      aria-posinset={index + 1}
      aria-setsize={size}
      class={`event ${isMessage ? 'message' : 'system'}${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}`}
    >
      {newDay && <div class="day" aria-hidden="true">{formatDate(e.ts)}</div>}
      {isMessage ? (
        <>
          {!grouped && (
            <div class="meta">
              <span class="sender">{store.displayName(e.sender)}</span>{' '}
              {/* Timestamps are not announced per message (aria-hidden); the full date is in the tooltip. */}
              <time aria-hidden="true" dateTime={isoTime(e.ts)} title={formatDateTime(e.ts)}>{formatTime(e.ts)}</time>
            </div>
          )}
          {grouped && <span class="visually-hidden">{store.displayName(e.sender)}: </span>}
          {body === null
            ? <div class="body redacted">{t('timeline.redacted')}</div>
            : e.type === 'poll'
              ? <Poll store={store} room={room} event={e} agg={agg} />
              : <div class="body" dir="auto">{body}{edited && <span class="muted"> {t('msg.edited')}</span>}</div>}
          {body !== null && <Attachments store={store} event={e} />}
          {body !== null && <AckControls store={store} event={e} />}
          <Reactions store={store} room={room} event={e} agg={agg} />
          <ThreadSummary store={store} room={room} event={e} agg={agg} />
          {mine && e.type === 'message' && body !== null && <Receipts store={store} room={room} event={e} />}
          <MessageActions store={store} room={room} event={e} agg={agg} />
        </>
      ) : (
        <div class="body">{systemText(store, e)}</div>
      )}
    </li>
  );
}

function PendingItem({ store, p }: { store: ClientStore; p: PendingMessage }) {
  return (
    <li class={`event message mine pending-${p.state}`} data-txn={p.txn}>
      <div class="body" dir="auto">{p.body}</div>
      <div class="status">
        {p.state === 'failed' ? (
          <>
            <span class="error">{t('timeline.failed', { error: p.error ?? '' })}</span>{' '}
            <button class="link" onClick={() => store.dismissPending(p.txn)}>{t('timeline.dismiss')}</button>
          </>
        ) : (
          <span>{store.connection.isPending(p.txn) ? t('timeline.waitingHub') : t('timeline.sending')}</span>
        )}
      </div>
    </li>
  );
}

export function systemText(store: ClientStore, e: RoomEvent): string {
  const c = e.content ?? {};
  const actor = store.displayName(e.sender);
  const user = typeof c.user === 'string' ? store.displayName(c.user) : '';
  switch (e.type) {
    case 'room.create':
      return t('event.create', { actor });
    case 'room.member':
      if (c.membership === 'join') return t('event.join', { user });
      if (c.membership === 'invite') return t('event.invite', { actor, user });
      if (c.membership === 'leave') return c.user === e.sender ? t('event.leave', { user }) : t('event.kick', { actor, user });
      return t('event.other', { actor, type: e.type });
    case 'room.name':
      return t('event.name', { actor, name: String(c.name ?? '') });
    case 'room.topic':
      return t('event.topic', { actor, topic: String(c.topic ?? '') });
    case 'room.archived':
      return c.archived ? t('event.archived', { actor }) : t('event.unarchived', { actor });
    default:
      return t('event.other', { actor, type: e.type });
  }
}

function keyOf(e: RoomEvent): string {
  return String(e.seq);
}

/** The first index i with offsets[i] >= value. */
function lowerBound(offsets: number[], value: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

