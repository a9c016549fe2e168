// A scripted WebSocket for unit tests: records what the client sends and lets the test answer with server frames.
import { decodeFrames, encode } from '../../../src/Web/src/shared/codec';

export class FakeSocket {
  static instances: FakeSocket[] = [];
  binaryType = 'arraybuffer';
  readyState = 0;
  sent: unknown[][] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  static get last(): FakeSocket {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }

  send(data: Uint8Array): void {
    this.sent.push(...decodeFrames(data));
  }

  close(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  // ---- test side ----
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }

  /** Delivers one WebSocket message holding these frames back to back. */
  deliver(...frames: unknown[][]): void {
    const parts = frames.map((f) => encode(f));
    const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      total.set(p, o);
      o += p.length;
    }
    this.onmessage?.({ data: total.buffer });
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

export const token = (n: number) => new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, n]);

export function welcome(resume: Uint8Array, user = 'bob@acme.example'): unknown[] {
  return [64, 1, user, 'sess1', resume, 1767225600000, { max_frame_bytes: 65536 }];
}

export function eventFrame(pos: number, room: string, seq: number, body: string, sender = 'alice@acme.example'): unknown[] {
  return [68, pos, [1, new Uint8Array(32), room, seq, seq > 1 ? new Uint8Array(32) : null, sender, 'message', 1767225600000 + seq, new Uint8Array(32), { body }]];
}
