// The client's state: the connection, the room list (unread counts from the server), open timelines, pending sends,
// profiles. Components read signals; actions call the protocol.
import { batch, computed, effect, signal } from '@preact/signals';
import { type RoomEvent } from '../shared/codec';
import { Connection, newTxn, webSocketUrl } from '../shared/connection';
import * as api from '../shared/api';
import { cacheGet, cachePut, deleteLocalData } from '../shared/cache';
import { clearSession, saveSession, session, type StoredSession } from '../shared/session';
import { pageTitle } from '../shared/format';
import { ProtocolError } from '../shared/protocol';
import { Timeline, type HistoryPage } from './timeline';
import { Notifier } from './notifier';
import { loadPendingAlerts, noteAlertEvent, pendingAlerts } from './Attention';

export interface RoomSummary {
  room_id: string;
  name: string | null;
  topic: string | null;
  kind: string;
  history: string;
  archived: boolean;
  membership: string;
  role: string;
  joined_count: number;
  head_seq: bigint;
  head_ts: bigint;
  read_seq: bigint;
  unread: number;
}

export interface Profile {
  user_id: string;
  username?: string;
  display_name?: string | null;
  title?: string | null;
  department?: string | null;
  email?: string | null;
  location?: string | null;
  phone?: string | null;
  team?: string | null;
  time_zone?: string | null;
  active?: boolean;
}

export interface PendingMessage {
  txn: string;
  room: string;
  body: string;
  state: 'sending' | 'waiting-hub' | 'failed';
  ackSeq: bigint | null;
  error?: string;
}

export interface RoomSettings {
  pins: Uint8Array[];
  postingRole: string | null;
  attachments: { max_bytes?: number | bigint; types?: string[] } | null;
}

export type View = 'room' | 'directory' | 'sessions' | 'settings' | 'create-room' | 'incident';

export function toSummary(r: Record<string, unknown>): RoomSummary {
  return {
    room_id: String(r.room_id),
    name: (r.name as string | null) ?? null,
    topic: (r.topic as string | null) ?? null,
    kind: String(r.kind ?? 'group'),
    history: String(r.history ?? 'full'),
    archived: r.archived === true,
    membership: String(r.membership ?? 'join'),
    role: String(r.role ?? 'member'),
    joined_count: Number(r.joined_count ?? 0),
    head_seq: (r.head_seq as bigint) ?? 0n,
    head_ts: (r.head_ts as bigint) ?? 0n,
    read_seq: (r.read_seq as bigint) ?? 0n,
    unread: Number(r.unread ?? 0),
  };
}

/** Room list order: invitations first, then the most recent activity. */
export function sortRooms(rooms: Iterable<RoomSummary>): RoomSummary[] {
  return [...rooms].sort((a, b) => {
    const ai = a.membership === 'invite' ? 1 : 0;
    const bi = b.membership === 'invite' ? 1 : 0;
    if (ai !== bi) return bi - ai;
    if (a.archived !== b.archived) return a.archived ? 1 : -1;
    if (a.head_ts !== b.head_ts) return a.head_ts > b.head_ts ? -1 : 1;
    return a.room_id < b.room_id ? -1 : 1;
  });
}

export class ClientStore {
  readonly rooms = signal<Map<string, RoomSummary>>(new Map());
  readonly roomsLoaded = signal(false);
  readonly sortedRooms = computed(() => sortRooms(this.rooms.value.values()));
  readonly totalUnread = computed(() => {
    let n = 0;
    for (const r of this.rooms.value.values()) if (r.membership === 'join') n += r.unread;
    return n;
  });
  readonly selectedRoom = signal<string | null>(null);
  readonly view = signal<View>('room');
  readonly profiles = signal<Map<string, Profile>>(new Map());
  readonly pending = signal<PendingMessage[]>([]);
  readonly me = signal<Profile | null>(null);
  readonly notice = signal<string | null>(null);
  readonly limits = signal<Record<string, unknown>>({});
  /** Set when the server wiped this device or ended the session: the sign-in screen shows why. */
  readonly signedOutReason = signal<string | null>(null);

  readonly connection: Connection;
  readonly notifier = new Notifier();
  private timelines = new Map<string, Timeline>();
  private refreshTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private profileRequests = new Set<string>();
  private loading = new Set<string>();
  private disposeEffects: (() => void)[] = [];

  constructor(readonly auth: StoredSession, wsUrl = webSocketUrl(location)) {
    this.connection = new Connection({ url: wsUrl, token: auth.token, client: 'teamcomms-web/0.1' }, {
      onEvent: (e) => this.onEvent(e),
      onOpen: (info) => void this.onOpen(info.resumed, info.limits),
      onWipe: (reason) => void this.wipe(reason),
      onSignedOut: (reason) => void this.endSession(reason),
      onNotify: (f) => this.notifier.onNotify(f.room, f.seq, f.notify),
      onError: (err) => {
        if (err.code !== 'resume_invalid') this.notice.value = err.message;
      },
    });
    this.disposeEffects.push(effect(() => {
      if (typeof document !== 'undefined') document.title = pageTitle(this.totalUnread.value);
    }));
  }

  get userId(): string {
    return this.auth.userId;
  }

  get serverName(): string {
    return this.auth.userId.slice(this.auth.userId.indexOf('@') + 1);
  }

  async start(): Promise<void> {
    const cached = await cacheGet<RoomSummary[]>('kv', `rooms:${this.userId}`);
    if (cached && !this.roomsLoaded.value) {
      this.rooms.value = new Map(cached.map((r) => [r.room_id, r]));
    }
    this.connection.start();
  }

  stop(): void {
    this.connection.stop();
    for (const d of this.disposeEffects) d();
    for (const t of this.refreshTimers.values()) clearTimeout(t);
  }

  // ---- connection callbacks ----

  private async onOpen(resumed: boolean, limits: Record<string, unknown>): Promise<void> {
    this.limits.value = limits;
    await this.refreshRooms();
    if (this.me.value === null) void this.loadMe();
    void loadPendingAlerts(this);
    if (!resumed) {
      // A fresh connection (first connect, or the server refused the resume token): catch up the open timelines.
      for (const t of this.timelines.values()) void t.catchUp();
    }
    const selected = this.selectedRoom.value;
    if (selected && this.rooms.value.get(selected)?.membership === 'join') this.timeline(selected);
  }

  private onEvent(e: RoomEvent): void {
    if (e.type === 'message') noteAlertEvent(this, e);
    const t = this.timelines.get(e.room);
    if (t) t.add(e);
    const rooms = this.rooms.value;
    const r = rooms.get(e.room);
    if (e.type === 'room.member' && e.content?.user === this.userId) {
      // Joined, invited, left or removed: the room list changes shape; ask the server.
      this.scheduleRefresh(e.room, 0);
      return;
    }
    if (!r) {
      this.scheduleRefresh(e.room, 0);
      return;
    }
    const next: RoomSummary = { ...r };
    if (e.seq > r.head_seq) {
      next.head_seq = e.seq;
      next.head_ts = e.ts;
    }
    if (e.type === 'room.name') next.name = (e.content?.name as string) ?? null;
    if (e.type === 'room.topic') next.topic = (e.content?.topic as string) ?? null;
    if (e.type === 'room.archived') next.archived = e.content?.archived === true;
    if (e.type === 'message') {
      if (e.sender === this.userId) {
        next.unread = 0;
        next.read_seq = e.seq;
      } else if (e.seq > r.read_seq) {
        next.unread = r.unread + 1;
        this.notifier.onMessage(e, next.name ?? e.room, this.displayName(e.sender));
      }
    }
    this.putRoom(next);
    // The count shown is the server's: reconcile shortly after a burst.
    if (e.type === 'message' && e.sender !== this.userId) this.scheduleRefresh(e.room, 800);
    if (this.selectedRoom.value === e.room && e.type === 'message') this.maybeMarkRead(e.room);
  }

  // ---- rooms ----

  async refreshRooms(): Promise<void> {
    try {
      // Archived rooms are listed only when asked for (§13.1); they stay readable, at the end of the list.
      const [active, archived] = await Promise.all([
        this.connection.call<Record<string, unknown>[]>('rooms.list', {}),
        this.connection.call<Record<string, unknown>[]>('rooms.list', { archived: true }).catch(() => []),
      ]);
      const list = [...active, ...archived];
      batch(() => {
        this.rooms.value = new Map(list.map((r) => { const s = toSummary(r); return [s.room_id, s]; }));
        this.roomsLoaded.value = true;
      });
      void cachePut('kv', `rooms:${this.userId}`, [...this.rooms.value.values()]);
    } catch (err) {
      if (err instanceof ProtocolError && err.code === 'offline') return;
      this.notice.value = errorText(err);
    }
  }

  private scheduleRefresh(room: string, delay: number): void {
    if (this.refreshTimers.has(room)) return;
    this.refreshTimers.set(room, setTimeout(() => {
      this.refreshTimers.delete(room);
      void this.refreshRoom(room);
    }, delay));
  }

  async refreshRoom(room: string): Promise<void> {
    try {
      const r = toSummary(await this.connection.call<Record<string, unknown>>('rooms.get', { room }));
      if (r.membership === 'leave') this.removeRoom(room);
      else this.putRoom(r);
    } catch (err) {
      if (err instanceof ProtocolError && (err.code === 'not_member' || err.code === 'unknown_room')) this.removeRoom(room);
    }
  }

  private putRoom(r: RoomSummary): void {
    const m = new Map(this.rooms.value);
    m.set(r.room_id, r);
    this.rooms.value = m;
  }

  private removeRoom(room: string): void {
    if (!this.rooms.value.has(room)) return;
    const m = new Map(this.rooms.value);
    m.delete(room);
    this.rooms.value = m;
    if (this.selectedRoom.value === room) this.selectedRoom.value = null;
  }

  timeline(room: string): Timeline {
    let t = this.timelines.get(room);
    if (!t) {
      t = new Timeline(room, (r, p) => this.history(r, p));
      this.timelines.set(room, t);
      const timeline = t;
      void cacheGet<RoomEvent[]>('timelines', room).then((cached) => {
        if (cached) timeline.seed(cached);
      });
    }
    if (!t.loaded.value && !this.loading.has(room)) {
      // First open, or an earlier load failed (offline, not yet a member): load the newest page.
      const timeline = t;
      this.loading.add(room);
      void t.loadLatest().then(() => {
        this.loading.delete(room);
        if (timeline.loaded.value) this.cacheTimeline(timeline);
      });
    }
    return t;
  }

  private cacheTimeline(t: Timeline): void {
    // The latest 50 events per room: enough to paint the room at once on the next start.
    void cachePut('timelines', t.roomId, t.events.value.slice(-50));
  }

  private history(room: string, p: { from?: bigint; dir: string; limit: number }): Promise<HistoryPage> {
    return this.connection.call<HistoryPage>('rooms.history', { room, from: p.from, dir: p.dir, limit: p.limit });
  }

  openRoom(room: string): void {
    batch(() => {
      this.selectedRoom.value = room;
      this.view.value = 'room';
    });
    if (this.rooms.value.get(room)?.membership === 'join') {
      this.timeline(room);
      void this.loadSettings(room);
    }
    if (this.thread.value?.room !== room) this.thread.value = null;
    this.maybeMarkRead(room);
  }

  /** Marks the room read up to its newest event while the user looks at it. */
  maybeMarkRead(room: string): void {
    const r = this.rooms.value.get(room);
    if (!r || r.membership !== 'join') return;
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    if (r.unread === 0 && r.read_seq >= r.head_seq) return;
    const seq = r.head_seq;
    this.putRoom({ ...r, unread: 0, read_seq: seq });
    void this.connection.call('rooms.mark_read', { room, seq }).then(() => this.refreshRoom(room), () => undefined);
  }

  // ---- messages ----

  async sendMessage(room: string, body: string): Promise<void> {
    const txn = newTxn();
    const p: PendingMessage = { txn, room, body, state: 'sending', ackSeq: null };
    this.pending.value = [...this.pending.value, p];
    try {
      const ack = await this.connection.send(room, 'message', { body }, txn);
      this.updatePending(txn, { ackSeq: ack.seq });
    } catch (err) {
      this.updatePending(txn, { state: 'failed', error: errorText(err) });
    }
  }

  private updatePending(txn: string, change: Partial<PendingMessage>): void {
    this.pending.value = this.pending.value.map((p) => (p.txn === txn ? { ...p, ...change } : p));
  }

  /** Pending messages still to show under the room's timeline (not yet in it). */
  pendingFor(room: string, lastSeq: bigint): PendingMessage[] {
    return this.pending.value.filter((p) => p.room === room && !(p.ackSeq !== null && p.ackSeq <= lastSeq));
  }

  dismissPending(txn: string): void {
    this.pending.value = this.pending.value.filter((p) => p.txn !== txn);
  }

  // ---- workplace: relations, moderation, polls, pins, files (docs/protocol.md §15) ----

  /** Sends an event that relates to another (thread reply, edit, reaction) or any postable type. */
  async sendEvent(room: string, type: string, content: Record<string, unknown>): Promise<void> {
    await this.connection.send(room, type, content);
  }

  async reply(room: string, root: Uint8Array, body: string): Promise<void> {
    await this.sendEvent(room, 'message', { body, rel: { type: 'thread', event: root } });
  }

  async edit(room: string, target: Uint8Array, body: string): Promise<void> {
    await this.sendEvent(room, 'message', { body, rel: { type: 'edit', event: target } });
  }

  async react(room: string, target: Uint8Array, key: string): Promise<void> {
    await this.sendEvent(room, 'reaction', { key, rel: { type: 'reaction', event: target } });
  }

  async redact(room: string, event: Uint8Array, reason?: string): Promise<void> {
    await this.connection.call('rooms.redact', { room, event, reason: reason || undefined });
  }

  async report(room: string, event: Uint8Array, reason: string): Promise<void> {
    await this.connection.call('moderation.report', { room, event, reason });
  }

  async pin(room: string, event: Uint8Array, pinned: boolean): Promise<void> {
    await this.connection.call(pinned ? 'rooms.pin' : 'rooms.unpin', { room, event });
    await this.loadSettings(room);
  }

  async sendPoll(room: string, question: string, options: string[], multiple: boolean, anonymous: boolean): Promise<void> {
    await this.sendEvent(room, 'poll', {
      question, multiple, anonymous,
      options: options.map((text, i) => ({ id: String(i + 1), text })),
    });
  }

  async vote(room: string, poll: Uint8Array, options: string[]): Promise<void> {
    await this.connection.call('polls.vote', { room, poll, options });
  }

  async closePoll(room: string, poll: Uint8Array): Promise<void> {
    await this.connection.call('polls.close', { room, poll });
  }

  /** rooms.settings: pins, content rules, edit and delete windows. */
  readonly settings = signal<Map<string, RoomSettings>>(new Map());

  async loadSettings(room: string): Promise<void> {
    try {
      const r = await this.connection.call<Record<string, unknown>>('rooms.settings', { room });
      const m = new Map(this.settings.value);
      m.set(room, {
        pins: Array.isArray(r.pins) ? (r.pins as unknown[]).filter((x): x is Uint8Array => x instanceof Uint8Array) : [],
        postingRole: typeof r.posting_role === 'string' ? r.posting_role : null,
        attachments: ((r.content_rules as Record<string, unknown> | undefined)?.attachments ?? null) as RoomSettings['attachments'],
      });
      this.settings.value = m;
    } catch {
      // A server without the workplace features: no pins, no rules to show.
    }
  }

  /** Uploads a file (POST /v1/rooms/{room}/attachments) and posts it in a message. */
  async sendFile(room: string, file: File, text = ''): Promise<void> {
    const rules = this.settings.value.get(room)?.attachments;
    if (rules?.max_bytes && file.size > Number(rules.max_bytes)) {
      throw new ProtocolError('attachment_too_large', `${file.name}: larger than this room allows`);
    }
    const type = file.type || 'application/octet-stream';
    const res = await fetch(`/v1/rooms/${encodeURIComponent(room)}/attachments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.auth.token}`, 'Content-Type': type },
      body: file,
    });
    const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok) {
      const err = (json?.error ?? {}) as { code?: string; message?: string };
      throw new ProtocolError(err.code ?? `http_${res.status}`, err.message ?? res.statusText, res.status);
    }
    await this.sendEvent(room, 'message', {
      body: text || file.name,
      attachments: [{ id: json!.attachment_id, name: file.name.slice(0, 255), type: json!.content_type ?? type, size: json!.size ?? file.size }],
    });
  }

  /** Downloads an attachment with the Authorization header (never a token in a URL) as a blob: URL. */
  async attachmentUrl(id: string): Promise<string> {
    const res = await fetch(`/v1/attachments/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${this.auth.token}` } });
    if (!res.ok) throw new ProtocolError('unknown_attachment', res.statusText, res.status);
    return URL.createObjectURL(await res.blob());
  }

  /** The thread panel: the root of the open thread. */
  readonly thread = signal<{ room: string; root: RoomEvent } | null>(null);

  // ---- rooms and people ----

  async createRoom(params: { name: string; topic?: string; kind: string; invite: string[] }): Promise<string> {
    const r = await this.connection.call<{ room_id: string }>('rooms.create', {
      name: params.name, topic: params.topic || undefined, kind: params.kind, invite: params.invite.length ? params.invite : undefined,
    });
    await this.refreshRoom(r.room_id);
    this.openRoom(r.room_id);
    return r.room_id;
  }

  /** A bare username means a person of this server. */
  qualify(user: string): string {
    const u = user.trim().replace(/^@/, '');
    return u.includes('@') ? u : `${u}@${this.serverName}`;
  }

  async invite(room: string, user: string): Promise<void> {
    await this.connection.call('rooms.invite', { room, user: this.qualify(user) });
  }

  async join(room: string): Promise<void> {
    await this.connection.call('rooms.join', { room });
    await this.refreshRoom(room);
    this.openRoom(room);
  }

  async leave(room: string): Promise<void> {
    await this.connection.call('rooms.leave', { room });
    this.removeRoom(room);
  }

  async archive(room: string, archived: boolean): Promise<void> {
    await this.connection.call(archived ? 'rooms.archive' : 'rooms.unarchive', { room });
    await this.refreshRoom(room);
  }

  async searchDirectory(query: string, cursor?: unknown): Promise<{ users: Profile[]; next: unknown }> {
    const r = await this.connection.call<{ users: Profile[]; next: unknown }>('directory.search', { query, limit: 30, cursor: cursor ?? undefined });
    const m = new Map(this.profiles.value);
    for (const p of r.users) m.set(p.user_id, p);
    this.profiles.value = m;
    return r;
  }

  async startDm(user: string): Promise<void> {
    const r = await this.connection.call<{ room_id: string }>('directory.start_dm', { user });
    await this.refreshRoom(r.room_id);
    this.openRoom(r.room_id);
  }

  displayName(userId: string): string {
    const p = this.profiles.value.get(userId);
    if (p?.display_name) return p.display_name;
    if (!this.profileRequests.has(userId) && !userId.startsWith('_system@')) {
      this.profileRequests.add(userId);
      void this.connection.call<Profile>('directory.get', { user: userId }).then((prof) => {
        const m = new Map(this.profiles.value);
        m.set(userId, prof);
        this.profiles.value = m;
      }, () => undefined);
    }
    return userId.slice(0, userId.indexOf('@') > 0 ? userId.indexOf('@') : undefined);
  }

  /** The other person of a direct room, for its name in the list. */
  roomLabel(r: RoomSummary): string {
    return r.name || (r.kind === 'direct' ? 'Direct message' : r.room_id);
  }

  private async loadMe(): Promise<void> {
    try {
      const p = await this.connection.call<Profile>('directory.get', { user: this.userId });
      this.me.value = p;
      const m = new Map(this.profiles.value);
      m.set(p.user_id, p);
      this.profiles.value = m;
    } catch {
      this.me.value = { user_id: this.userId };
    }
  }

  // ---- session end ----

  async logout(): Promise<void> {
    try {
      await api.logout(this.auth.token);
    } catch {
      // Offline: the token is dropped locally all the same.
    }
    await this.endSession(null);
  }

  /** The server's wipe command (Wipe frame, close 4006): erase everything local and sign out. */
  async wipe(reason: string): Promise<void> {
    await this.endSession(reason ? `wiped: ${reason}` : 'wiped');
  }

  private async endSession(reason: string | null): Promise<void> {
    this.stop();
    pendingAlerts.value = [];
    await deleteLocalData();
    clearSession();
    this.signedOutReason.value = reason;
    signedOutReason.value = reason;
  }
}

/** Why the last session ended (shown on the sign-in screen). */
export const signedOutReason = signal<string | null>(null);

export function errorText(err: unknown): string {
  if (err instanceof ProtocolError) return err.message || err.code;
  return err instanceof Error ? err.message : String(err);
}

// ---- the app's single store ----

export const store = signal<ClientStore | null>(null);

export function startStore(auth: StoredSession): ClientStore {
  store.value?.stop();
  const s = new ClientStore(auth);
  store.value = s;
  void s.start();
  return s;
}

export async function signIn(username: string, password: string): Promise<void> {
  const r = await api.login(username, password, deviceName());
  const auth: StoredSession = { token: r.access_token, userId: r.user_id, sessionId: r.session_id };
  saveSession(auth);
  signedOutReason.value = null;
  startStore(auth);
}

function deviceName(): string {
  const ua = typeof navigator === 'undefined' ? '' : navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `Web (${browser})`;
}

// Signing out in the store clears `session`; the app then shows the sign-in screen.
effect(() => {
  if (session.value === null && store.peek() !== null) store.value = null;
});
