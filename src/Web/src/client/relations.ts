// What the main timeline shows, given a room's events (docs/protocol.md §15): relations (edits, reactions, thread
// replies, poll votes and results, redactions) are folded into the events they relate to instead of being shown on
// their own; redactions and retention purges drop content the client still holds.
import { base64Url, type RoomEvent } from '../shared/codec';

export interface ReactionSummary {
  key: string;
  count: number;
  /** The id (base64url) of my reaction event with this key, if I reacted. */
  mine: string | null;
  senders: string[];
}

export interface PollResults {
  counts: Record<string, number>;
  voters: number;
  closed: boolean;
}

export interface Aggregate {
  /** Events for the main timeline, ascending. */
  visible: RoomEvent[];
  /** By id (base64url). */
  byId: Map<string, RoomEvent>;
  /** Root id → the newest edit's body. */
  edits: Map<string, string>;
  reactions: Map<string, ReactionSummary[]>;
  /** Root id → replies in the thread (loaded ones). */
  threads: Map<string, RoomEvent[]>;
  polls: Map<string, PollResults>;
  /** Ids whose content was removed (redaction, or retention up to a purge). */
  removed: Set<string>;
  /** The pinned event ids in pin order, when a room.pins event is loaded. */
  pins: string[] | null;
}

export interface Relation {
  type: string;
  event: string;
}

/** The `rel` of an event's content, with the related id as base64url. */
export function relationOf(e: RoomEvent): Relation | null {
  const rel = e.content?.rel as { type?: unknown; event?: unknown } | undefined;
  if (!rel || typeof rel.type !== 'string' || !(rel.event instanceof Uint8Array)) return null;
  return { type: rel.type, event: base64Url(rel.event) };
}

export function idOf(e: RoomEvent): string {
  return base64Url(e.id);
}

const hiddenTypes = new Set(['reaction', 'poll.vote', 'poll.results', 'room.redaction', 'room.purge']);

export function aggregate(events: RoomEvent[], me: string): Aggregate {
  const byId = new Map<string, RoomEvent>();
  const edits = new Map<string, string>();
  const reactionEvents = new Map<string, Map<string, { count: number; mine: string | null; senders: string[] }>>();
  const threads = new Map<string, RoomEvent[]>();
  const polls = new Map<string, PollResults>();
  const removed = new Set<string>();
  let pins: string[] | null = null;
  let purgedThrough = 0n;
  const reactionOwner = new Map<string, { root: string; key: string }>();

  for (const e of events) {
    const id = idOf(e);
    byId.set(id, e);
    if (e.content === null) removed.add(id);
    if (e.type === 'room.purge' && e.content) {
      const through = e.content.through;
      if (typeof through === 'number' || typeof through === 'bigint') purgedThrough = BigInt(through);
    }
    if (e.type === 'room.pins' && e.content && Array.isArray(e.content.events)) {
      pins = (e.content.events as unknown[]).filter((x): x is Uint8Array => x instanceof Uint8Array).map(base64Url);
    }
    const rel = relationOf(e);
    if (!rel) continue;
    switch (rel.type) {
      case 'edit':
        if (typeof e.content?.body === 'string' && byId.get(rel.event)?.sender === e.sender) edits.set(rel.event, e.content.body);
        break;
      case 'reaction': {
        const key = typeof e.content?.key === 'string' ? e.content.key : '';
        if (!key) break;
        let m = reactionEvents.get(rel.event);
        if (!m) reactionEvents.set(rel.event, (m = new Map()));
        const r = m.get(key) ?? { count: 0, mine: null, senders: [] };
        r.count++;
        r.senders.push(e.sender);
        if (e.sender === me) r.mine = id;
        m.set(key, r);
        // Remember which reaction this event was, so a redaction can take it back.
        reactionOwner.set(id, { root: rel.event, key });
        break;
      }
      case 'thread': {
        const list = threads.get(rel.event) ?? [];
        list.push(e);
        threads.set(rel.event, list);
        break;
      }
      case 'results':
        if (e.content) {
          polls.set(rel.event, {
            counts: Object.fromEntries(Object.entries((e.content.counts ?? {}) as Record<string, unknown>).map(([k, v]) => [k, Number(v)])),
            voters: Number(e.content.voters ?? 0),
            closed: e.content.closed === true,
          });
        }
        break;
      case 'redaction':
        removed.add(rel.event);
        break;
      default:
        break;
    }
  }

  // Redacted reactions no longer count.
  for (const id of removed) {
    const owner = reactionOwner.get(id);
    if (!owner) continue;
    const r = reactionEvents.get(owner.root)?.get(owner.key);
    if (!r) continue;
    const ev = byId.get(id);
    r.count--;
    if (ev) r.senders = r.senders.filter((s, i) => s !== ev.sender || r.senders.indexOf(s) !== i);
    if (r.mine === id) r.mine = null;
  }

  if (purgedThrough > 0n) {
    for (const e of events) {
      if (e.seq > purgedThrough) break;
      if (!e.type.startsWith('room.')) removed.add(idOf(e));
    }
  }

  const reactions = new Map<string, ReactionSummary[]>();
  for (const [root, m] of reactionEvents) {
    const list = [...m.entries()].filter(([, r]) => r.count > 0).map(([key, r]) => ({ key, ...r }));
    if (list.length) reactions.set(root, list);
  }

  const visible = events.filter((e) => {
    if (hiddenTypes.has(e.type)) return false;
    const rel = relationOf(e);
    if (rel && (rel.type === 'edit' || rel.type === 'thread')) return false;
    return true;
  });
  return { visible, byId, edits, reactions, threads, polls, removed, pins };
}


/** The body to show for a message: its newest edit, or nothing when removed. */
export function displayBody(agg: Aggregate, e: RoomEvent): string | null {
  const id = idOf(e);
  if (agg.removed.has(id) || e.content === null) return null;
  return agg.edits.get(id) ?? (typeof e.content.body === 'string' ? e.content.body : '');
}
