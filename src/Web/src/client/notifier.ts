// Desktop notifications (the Notification API): permission is asked only from a user gesture (settings), a
// notification shows only while the tab is hidden, the user can snooze, and the server's per-device decision
// (Notify frames: quiet hours, urgent) wins when the server sends one.
import { signal } from '@preact/signals';
import type { RoomEvent } from '../shared/codec';
import { safeStorage } from '../shared/i18n';

interface Candidate {
  title: string;
  body: string;
  room: string;
}

export class Notifier {
  readonly permission = signal<NotificationPermission | 'unsupported'>(
    typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);
  /** Unix ms until which notifications are snoozed (0: not snoozed). */
  readonly snoozedUntil = signal<number>(Number(safeStorage()?.getItem('tc.snooze') ?? 0));

  /** Once the server has sent a Notify frame, it decides for every message (workplace features). */
  private serverDecides = false;
  private waiting = new Map<string, Candidate>();
  private decisions = new Map<string, boolean>();

  /** From a click: asks the browser for permission. */
  async requestPermission(): Promise<void> {
    if (typeof Notification === 'undefined') return;
    this.permission.value = await Notification.requestPermission();
  }

  snooze(minutes: number): void {
    const until = minutes > 0 ? Date.now() + minutes * 60_000 : 0;
    this.snoozedUntil.value = until;
    if (until) safeStorage()?.setItem('tc.snooze', String(until));
    else safeStorage()?.removeItem('tc.snooze');
  }

  onMessage(e: RoomEvent, roomName: string, senderName: string): void {
    const body = typeof e.content?.body === 'string' ? e.content.body : '';
    const c: Candidate = { title: `${senderName} · ${roomName}`, body: body.slice(0, 200), room: e.room };
    const key = `${e.room}|${e.seq}`;
    const decided = this.decisions.get(key);
    if (decided !== undefined) {
      this.decisions.delete(key);
      if (decided) this.show(c);
      return;
    }
    if (this.serverDecides) {
      this.waiting.set(key, c);
      if (this.waiting.size > 200) this.waiting.delete(this.waiting.keys().next().value!);
      return;
    }
    this.show(c);
  }

  onNotify(room: string, seq: bigint, notify: boolean): void {
    this.serverDecides = true;
    const key = `${room}|${seq}`;
    const c = this.waiting.get(key);
    if (c) {
      this.waiting.delete(key);
      if (notify) this.show(c, true);
      return;
    }
    this.decisions.set(key, notify);
    if (this.decisions.size > 200) this.decisions.delete(this.decisions.keys().next().value!);
  }

  private show(c: Candidate, serverSaidNotify = false): void {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    if (typeof document !== 'undefined' && document.visibilityState !== 'hidden') return;
    // Snooze silences what the user chose to silence; the server's explicit notify (urgent) still shows.
    if (!serverSaidNotify && Date.now() < this.snoozedUntil.value) return;
    try {
      const n = new Notification(c.title, { body: c.body, tag: c.room });
      n.onclick = () => {
        window.focus();
        n.close();
      };
    } catch {
      // Some browsers allow notifications only from a service worker; nothing to do then.
    }
  }
}
