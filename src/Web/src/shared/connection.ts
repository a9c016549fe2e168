// One WebSocket per tab (docs/protocol.md §3, §4, §8): Hello carries the token in the first frame (browsers cannot
// set headers on a WebSocket, and tokens never go in URLs); after a drop the connection reconnects with backoff and
// resumes from the last Position token, so the server replays exactly what was missed. Sends keep their txn across
// reconnects and are retried with it, so a send is never lost and never stored twice (§5 Send).
import { signal } from '@preact/signals';
import {
  callFrame, decodeFrames, decodeServerFrame, helloFrame, pingFrame, receivedFrame, sendFrame,
  type RoomEvent, type ServerFrame,
} from './codec';
import { CloseCode, ProtocolError, terminalCloseCodes } from './protocol';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'offline' | 'signed-out' | 'wiped';

export interface AckInfo {
  room: string;
  seq: bigint;
  id: Uint8Array;
  ts: bigint;
}

export interface ConnectionHandlers {
  /** A durable event, live or replayed, in per-room seq order. */
  onEvent(event: RoomEvent, pos: bigint): void;
  /** Welcome on every (re)connect; `resumed` is false on a fresh start or when the server refused the token. */
  onOpen?(info: { user: string; session: string; resumed: boolean; serverTime: bigint; limits: Record<string, unknown> }): void;
  /** Wipe frame or close 4006: erase local data and sign out (§13.5). */
  onWipe?(reason: string): void;
  /** Token refused or session revoked (close 4001/4004). */
  onSignedOut?(reason: string): void;
  onNotify?(frame: Extract<ServerFrame, { type: 'notify' }>): void;
  /** An Error frame not tied to a request (req 0), for example rate_limited. */
  onError?(error: ProtocolError): void;
}

export interface ConnectionOptions {
  url: string;
  token: string;
  client?: string;
  /** For tests: a WebSocket constructor. */
  webSocket?: typeof WebSocket;
  /** How long offline before the banner shows (ms). */
  bannerDelayMs?: number;
  /** Cap of the reconnect backoff (ms). */
  maxBackoffMs?: number;
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface PendingSend {
  room: string;
  txn: string;
  type: string;
  content: Record<string, unknown>;
  req: bigint;
  resolve(ack: AckInfo): void;
  reject(error: unknown): void;
  /** The server answered Pending: the hub of another server has not ordered it yet (§14). */
  pending: boolean;
}

// Errors after which a retry with the same txn may succeed (§9: storage_full, storage_unavailable, rate_limited).
const retryableSendErrors = new Set(['storage_full', 'storage_unavailable', 'rate_limited', 'unavailable']);

export function webSocketUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/v1/ws`;
}

export class Connection {
  readonly state = signal<ConnectionState>('idle');
  /** True once the connection has been down longer than bannerDelayMs: the UI shows the connection banner. */
  readonly showBanner = signal(false);
  /** Number of successful Welcomes (1 on the first connect). */
  readonly generation = signal(0);

  private ws: WebSocket | null = null;
  private resume: Uint8Array | null = null;
  private nextReq = 1n;
  private calls = new Map<bigint, PendingCall>();
  private sends = new Map<string, PendingSend>(); // by txn, in insertion (send) order
  private sendsByReq = new Map<bigint, PendingSend>();
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private bannerTimer: ReturnType<typeof setTimeout> | null = null;
  private receivedTimer: ReturnType<typeof setTimeout> | null = null;
  private receivedDirty = false;
  private stopped = false;
  private readonly opts: Required<Omit<ConnectionOptions, 'webSocket'>> & { webSocket?: typeof WebSocket };

  constructor(options: ConnectionOptions, private readonly handlers: ConnectionHandlers) {
    this.opts = { client: 'teamcomms-web', bannerDelayMs: 3000, maxBackoffMs: 30000, ...options };
  }

  /** The last resume token (Welcome or Position). */
  get resumeToken(): Uint8Array | null {
    return this.resume;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes for good (logout, wipe): pending calls and sends fail. */
  stop(finalState: ConnectionState = 'idle'): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000);
    this.failAll(new ProtocolError('closed', 'the connection was closed'));
    for (const s of this.sends.values()) s.reject(new ProtocolError('closed', 'the connection was closed'));
    this.sends.clear();
    this.sendsByReq.clear();
    this.state.value = finalState;
    this.showBanner.value = false;
  }

  /** Drops the socket as a network failure would, then reconnects and resumes (used by the UI's "reconnect now"). */
  reconnectNow(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.ws) this.ws.close(4999);
    else this.open();
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const ws = this.ws;
    if (!ws || this.state.value !== 'open') return Promise.reject(new ProtocolError('offline', 'not connected'));
    const req = this.nextReq++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(req, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(callFrame(req, method, params));
    });
  }

  /** Sends an event. The promise resolves with the Ack, across reconnects (retried with the same txn). */
  send(room: string, type: string, content: Record<string, unknown>, txn = newTxn()): Promise<AckInfo> {
    return new Promise<AckInfo>((resolve, reject) => {
      const s: PendingSend = { room, txn, type, content, req: 0n, resolve, reject, pending: false };
      this.sends.set(txn, s);
      if (this.state.value === 'open') this.transmit(s);
    });
  }

  isPending(txn: string): boolean {
    return this.sends.get(txn)?.pending ?? false;
  }

  private transmit(s: PendingSend): void {
    if (s.req !== 0n) this.sendsByReq.delete(s.req);
    s.req = this.nextReq++;
    this.sendsByReq.set(s.req, s);
    this.ws?.send(sendFrame(s.req, s.room, s.txn, s.type, s.content));
  }

  ping(): Promise<unknown> {
    const ws = this.ws;
    if (!ws || this.state.value !== 'open') return Promise.reject(new ProtocolError('offline', 'not connected'));
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.calls.set(req, { resolve, reject });
      ws.send(pingFrame(req));
    });
  }

  private open(): void {
    if (this.stopped) return;
    this.state.value = this.generation.value === 0 ? 'connecting' : 'offline';
    const Ws = this.opts.webSocket ?? WebSocket;
    const ws = new Ws(this.opts.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let welcomed = false;
    ws.onopen = () => {
      ws.send(helloFrame(this.opts.token, this.resume, this.opts.client));
    };
    ws.onmessage = (e: MessageEvent) => {
      if (this.ws !== ws) return;
      if (!(e.data instanceof ArrayBuffer)) return;
      let frames: unknown[][];
      try {
        frames = decodeFrames(new Uint8Array(e.data));
      } catch (err) {
        console.error('teamcomms: undecodable message from the server', err);
        return;
      }
      for (const raw of frames) {
        let f: ServerFrame;
        try {
          f = decodeServerFrame(raw);
        } catch (err) {
          console.error('teamcomms: malformed frame', err);
          continue;
        }
        if (f.type === 'welcome') {
          welcomed = true;
          this.onWelcome(f);
        } else {
          this.onFrame(f, welcomed);
        }
      }
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onClosed(e.code, e.reason);
    };
    ws.onerror = () => {
      // onclose follows with the reason.
    };
  }

  private onWelcome(f: Extract<ServerFrame, { type: 'welcome' }>): void {
    const sent = this.resume;
    const resumed = sent !== null && equalBytes(sent, f.resume);
    this.resume = f.resume;
    this.attempt = 0;
    this.state.value = 'open';
    this.clearBanner();
    this.generation.value++;
    this.handlers.onOpen?.({ user: f.user, session: f.session, resumed, serverTime: f.serverTime, limits: f.limits });
    // Retry every unacknowledged send with its txn: the server returns the original Ack, never a duplicate.
    for (const s of this.sends.values()) this.transmit(s);
  }

  private onFrame(f: ServerFrame, welcomed: boolean): void {
    switch (f.type) {
      case 'event':
        this.handlers.onEvent(f.event, f.pos);
        break;
      case 'position':
        this.resume = f.resume;
        this.scheduleReceived();
        break;
      case 'ack': {
        const s = this.sendsByReq.get(f.req);
        if (s) {
          this.sendsByReq.delete(f.req);
          this.sends.delete(s.txn);
          s.resolve({ room: f.room, seq: f.seq, id: f.id, ts: f.ts });
        }
        break;
      }
      case 'pending': {
        const s = this.sends.get(f.txn);
        if (s) s.pending = true;
        break;
      }
      case 'result':
      case 'pong': {
        const c = this.calls.get(f.req);
        if (c) {
          this.calls.delete(f.req);
          c.resolve(f.type === 'result' ? f.result : f.serverTime);
        }
        break;
      }
      case 'error': {
        const error = new ProtocolError(f.name, f.message);
        if (f.req === 0n) {
          if (!welcomed && (f.name === 'token_invalid' || f.name === 'token_expired' || f.name === 'session_revoked')) {
            this.signedOutReason = f.name;
          }
          this.handlers.onError?.(error);
          break;
        }
        const c = this.calls.get(f.req);
        if (c) {
          this.calls.delete(f.req);
          c.reject(error);
          break;
        }
        const s = this.sendsByReq.get(f.req);
        if (s) {
          this.sendsByReq.delete(f.req);
          if (!retryableSendErrors.has(f.name)) {
            this.sends.delete(s.txn);
            s.reject(error);
          }
          // Retryable: it stays in `sends` and goes again with the same txn on the next (re)connect.
        }
        break;
      }
      case 'wipe':
        this.wipeReason = f.reason || 'wiped';
        break;
      case 'notify':
        this.handlers.onNotify?.(f);
        break;
      default:
        break;
    }
  }

  private signedOutReason: string | null = null;
  private wipeReason: string | null = null;

  private onClosed(code: number, reason: string): void {
    this.failAll(new ProtocolError('offline', 'the connection dropped'));
    for (const s of this.sends.values()) {
      if (s.req !== 0n) this.sendsByReq.delete(s.req);
      s.req = 0n;
    }
    if (this.wipeReason !== null || code === CloseCode.Wiped) {
      const why = this.wipeReason ?? reason ?? 'wiped';
      this.stop('wiped');
      this.handlers.onWipe?.(why);
      return;
    }
    if (terminalCloseCodes.has(code)) {
      const why = this.signedOutReason ?? (reason || `closed ${code}`);
      this.stop('signed-out');
      this.handlers.onSignedOut?.(why);
      return;
    }
    if (this.stopped) return;
    this.state.value = 'offline';
    this.armBanner();
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to maxBackoffMs, so a restarting server is not stampeded.
    const base = Math.min(this.opts.maxBackoffMs, 500 * 2 ** Math.min(this.attempt, 10));
    const delay = this.attempt === 0 ? 250 : base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, delay);
  }

  private scheduleReceived(): void {
    // Receipts at most every 200 ms, with the latest token (§8).
    this.receivedDirty = true;
    if (this.receivedTimer) return;
    this.receivedTimer = setTimeout(() => {
      this.receivedTimer = null;
      if (this.receivedDirty && this.resume && this.ws && this.state.value === 'open') {
        this.receivedDirty = false;
        this.ws.send(receivedFrame(this.resume));
      }
    }, 200);
  }

  private armBanner(): void {
    if (this.bannerTimer || this.showBanner.value) return;
    this.bannerTimer = setTimeout(() => {
      this.bannerTimer = null;
      if (this.state.value !== 'open') this.showBanner.value = true;
    }, this.opts.bannerDelayMs);
  }

  private clearBanner(): void {
    if (this.bannerTimer) clearTimeout(this.bannerTimer);
    this.bannerTimer = null;
    this.showBanner.value = false;
  }

  private clearTimers(): void {
    this.clearBanner();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.receivedTimer) clearTimeout(this.receivedTimer);
    this.reconnectTimer = null;
    this.receivedTimer = null;
  }

  private failAll(error: ProtocolError): void {
    for (const c of this.calls.values()) c.reject(error);
    this.calls.clear();
  }
}

export function newTxn(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return 'w' + Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
