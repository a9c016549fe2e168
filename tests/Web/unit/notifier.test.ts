import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Notifier } from '../../../src/Web/src/client/notifier';
import type { RoomEvent } from '../../../src/Web/src/shared/codec';

const ROOM = '!abcdefghabcdefgh@acme.example';
const shown: string[] = [];
class FakeNotification {
  static permission = 'granted';
  onclick: (() => void) | null = null;
  constructor(title: string, options: { body: string }) {
    shown.push(`${title}: ${options.body}`);
  }
  close() {}
  static async requestPermission() {
    return 'granted';
  }
}

function msg(seq: number, body: string): RoomEvent {
  return { v: 1n, id: new Uint8Array(32), room: ROOM, seq: BigInt(seq), prev: null, sender: 'alice@acme.example', type: 'message', ts: 1n, contentHash: new Uint8Array(32), content: { body } };
}

let hidden = true;
beforeEach(() => {
  shown.length = 0;
  hidden = true;
  (globalThis as { Notification: unknown }).Notification = FakeNotification;
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  localStorage.clear();
});
afterEach(() => {
  delete (globalThis as { Notification?: unknown }).Notification;
});

describe('Notifier', () => {
  it('notifies only while the tab is hidden', () => {
    const n = new Notifier();
    n.onMessage(msg(1, 'hello'), 'Ops', 'Alice');
    hidden = false;
    n.onMessage(msg(2, 'seen'), 'Ops', 'Alice');
    expect(shown).toEqual(['Alice · Ops: hello']);
  });

  it('stays silent while snoozed', () => {
    const n = new Notifier();
    n.snooze(60);
    n.onMessage(msg(1, 'quiet'), 'Ops', 'Alice');
    expect(shown).toEqual([]);
    n.snooze(0);
    n.onMessage(msg(2, 'loud'), 'Ops', 'Alice');
    expect(shown).toEqual(['Alice · Ops: loud']);
  });

  it('obeys the server: once it sends Notify frames, only notify=true messages show (before or after the event)', () => {
    const n = new Notifier();
    n.onNotify(ROOM, 1n, false); // quiet hours: the server says no
    n.onMessage(msg(1, 'during quiet hours'), 'Ops', 'Alice');
    n.onMessage(msg(2, 'urgent'), 'Ops', 'Alice');
    n.onNotify(ROOM, 2n, true); // arrives after the event
    n.onMessage(msg(3, 'no decision yet'), 'Ops', 'Alice');
    expect(shown).toEqual(['Alice · Ops: urgent']);
  });

  it('lets the server override a snooze for what it says must notify (urgent)', () => {
    const n = new Notifier();
    n.snooze(60);
    n.onNotify(ROOM, 9n, false);
    n.onMessage(msg(10, 'urgent'), 'Ops', 'Alice');
    n.onNotify(ROOM, 10n, true);
    expect(shown).toEqual(['Alice · Ops: urgent']);
  });
});
