// Receipts, urgent messages and acknowledgements, emergency broadcasts, incident reports (issue 7b's calls:
// receipts.get, alerts.send/ack/status/list, incidents.report). A message whose content carries the server-set
// `ack` map {alert, urgent, scope} needs an acknowledgement: it gets an Acknowledge button, and a banner stays at the
// top of the app until it is acknowledged.
import { useEffect, useState } from 'preact/hooks';
import { signal } from '@preact/signals';
import type { RoomEvent } from '../shared/codec';
import { formatDateTime } from '../shared/format';
import { t } from '../shared/i18n';
import { errorText, type ClientStore, type RoomSummary } from './store';

export interface AckFlag {
  alert: string;
  urgent: boolean;
  scope: string;
}

export function ackFlagOf(e: RoomEvent): AckFlag | null {
  const a = e.content?.ack as Record<string, unknown> | undefined;
  if (!a || typeof a.alert !== 'string') return null;
  return { alert: a.alert, urgent: a.urgent === true, scope: typeof a.scope === 'string' ? a.scope : 'room' };
}

export interface PendingAlert {
  alert: string;
  room: string;
  seq: bigint;
  body: string;
  sender: string;
  urgent: boolean;
}

/** Alerts this user has not acknowledged yet (from alerts.list and from live events). */
export const pendingAlerts = signal<PendingAlert[]>([]);
const acknowledged = new Set<string>();

export function noteAlertEvent(store: ClientStore, e: RoomEvent): void {
  const flag = ackFlagOf(e);
  if (!flag || e.sender === store.userId || acknowledged.has(flag.alert)) return;
  if (pendingAlerts.value.some((p) => p.alert === flag.alert)) return;
  pendingAlerts.value = [...pendingAlerts.value, {
    alert: flag.alert, room: e.room, seq: e.seq, body: String(e.content?.body ?? ''), sender: e.sender, urgent: flag.urgent,
  }];
}

export async function loadPendingAlerts(store: ClientStore): Promise<void> {
  try {
    const r = await store.connection.call<{ pending?: Record<string, unknown>[] }>('alerts.list', {});
    const list = (r.pending ?? []).map((a) => ({
      alert: String(a.alert_id), room: String(a.room_id), seq: (a.seq as bigint) ?? 0n,
      body: String(a.body ?? ''), sender: String(a.sender ?? ''), urgent: a.urgent === true,
    })).filter((a) => !acknowledged.has(a.alert));
    const known = new Set(list.map((a) => a.alert));
    pendingAlerts.value = [...list, ...pendingAlerts.value.filter((p) => !known.has(p.alert))];
  } catch {
    // A server without alerts: nothing pending.
  }
}

export async function acknowledge(store: ClientStore, alert: string): Promise<void> {
  await store.connection.call('alerts.ack', { alert });
  acknowledged.add(alert);
  pendingAlerts.value = pendingAlerts.value.filter((p) => p.alert !== alert);
}

/** The banner that stays until every urgent message and announcement needing acknowledgement is acknowledged. */
export function AlertBanner({ store }: { store: ClientStore }) {
  const list = pendingAlerts.value;
  const [error, setError] = useState<string | null>(null);
  if (!list.length) return null;
  return (
    <section class="alert-banner" role="alert" aria-label={t('ack.banner')}>
      {list.map((a) => (
        <div key={a.alert} class="row">
          <strong>{a.urgent ? t('ack.urgent') : t('ack.announcement')}</strong>
          <span dir="auto">{store.displayName(a.sender)}: {a.body}</span>
          <button class="primary" onClick={() => void acknowledge(store, a.alert).catch((err) => setError(errorText(err)))}>{t('ack.button')}</button>
          <button class="link" onClick={() => store.openRoom(a.room)}>{t('ack.open')}</button>
        </div>
      ))}
      {error && <span class="error">{error}</span>}
    </section>
  );
}

/** Under a message that needs acknowledgement: the button for recipients, the acknowledgement view for its sender. */
export function AckControls({ store, event: e }: { store: ClientStore; event: RoomEvent }) {
  const flag = ackFlagOf(e);
  const [status, setStatus] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!flag) return null;
  const mine = e.sender === store.userId;
  const pending = pendingAlerts.value.some((p) => p.alert === flag.alert);
  const loadStatus = async () => {
    try {
      setStatus(await store.connection.call<Record<string, unknown>>('alerts.status', { alert: flag.alert }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const counts = (status?.counts ?? {}) as Record<string, unknown>;
  const recipients = (status?.recipients ?? []) as Record<string, unknown>[];
  return (
    <div class="ack">
      <span class={flag.urgent ? 'tag urgent' : 'tag'}>{flag.urgent ? t('ack.urgent') : t('ack.announcement')}</span>{' '}
      {!mine && pending && <button class="primary" onClick={() => void acknowledge(store, flag.alert).catch((err) => setError(errorText(err)))}>{t('ack.button')}</button>}
      {!mine && !pending && <span class="muted">{t('ack.done')}</span>}
      {mine && <button class="link" onClick={() => void loadStatus()}>{t('ack.view')}</button>}
      {status && (
        <div class="ack-status">
          <p>{t('ack.counts', { acked: Number(counts.acknowledged ?? 0), n: Number(counts.recipients ?? recipients.length) })}</p>
          <table class="table">
            <thead><tr><th scope="col">{t('ack.person')}</th><th scope="col">{t('ack.status')}</th><th scope="col">{t('ack.when')}</th></tr></thead>
            <tbody>
              {recipients.map((r) => (
                <tr key={String(r.user)}>
                  <td>{String(r.display_name ?? r.user)}</td>
                  <td>{String(r.status)}</td>
                  <td>{r.acknowledged_at ? formatDateTime(r.acknowledged_at as bigint) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {error && <span role="alert" class="error">{error}</span>}
    </div>
  );
}

/** "Read by N of M" for one of my messages, with who has not read it (receipts.get). */
export function Receipts({ store, room, event: e }: { store: ClientStore; room: RoomSummary; event: RoomEvent }) {
  const [r, setR] = useState<Record<string, unknown> | null>(null);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = () => store.connection.call<Record<string, unknown>>('receipts.get', { room: room.room_id, seq: e.seq })
    .then((x) => { setR(x); setError(null); }, (err) => setError(errorText(err)));
  useEffect(() => {
    if (open) void load();
  }, [open, room.head_seq]);
  if (e.sender !== store.userId) return null;
  const notRead = ((r?.not_read ?? []) as string[]);
  return (
    <div class="receipts">
      <button class="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        {r ? t('receipts.readBy', { read: Number(r.read ?? 0), total: Number(r.total ?? 0) }) : t('receipts.show')}
      </button>
      {open && notRead.length > 0 && (
        <p class="muted">{t('receipts.notRead')}: {notRead.map((u) => store.displayName(u)).join(', ')}</p>
      )}
      {error && <span class="error">{error}</span>}
    </div>
  );
}

/** Incident reports: to everyone, anonymous if chosen (incidents.report). */
export function IncidentView({ store }: { store: ClientStore }) {
  const [kind, setKind] = useState('safety');
  const [description, setDescription] = useState('');
  const [anonymous, setAnonymous] = useState(false);
  const [result, setResult] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setResult(await store.connection.call<Record<string, unknown>>('incidents.report', { kind, description: description.trim(), anonymous }));
      setDescription('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section class="page" aria-labelledby="incident-title">
      <h2 id="incident-title">{t('incident.title')}</h2>
      <p>{t('incident.intro')}</p>
      <form class="form" onSubmit={submit}>
        <label>
          {t('incident.kind')}
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {['safety', 'harassment', 'discrimination', 'fraud', 'security', 'other'].map((k) => <option key={k} value={k}>{t(`incident.kind.${k}`)}</option>)}
          </select>
        </label>
        <label>{t('incident.description')}<textarea rows={6} value={description} onInput={(e) => setDescription(e.currentTarget.value)} required dir="auto" /></label>
        <label class="check"><input type="checkbox" checked={anonymous} onChange={(e) => setAnonymous(e.currentTarget.checked)} />{t('incident.anonymous')}</label>
        <button class="primary" type="submit">{t('incident.submit')}</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {result && (
        <div role="status" class="card">
          <p>{t('incident.sent', { id: String(result.incident_id) })}</p>
          {typeof result.secret === 'string' && <p>{t('incident.secret')} <code>{result.secret}</code></p>}
        </div>
      )}
    </section>
  );
}

/** Urgent message and emergency broadcast, for those the server allows (alerts.send). */
export function UrgentForm({ store, room, onDone }: { store: ClientStore; room: RoomSummary | null; onDone?: () => void }) {
  const [body, setBody] = useState('');
  const [company, setCompany] = useState(room === null);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await store.connection.call('alerts.send', company ? { company: true, body: body.trim(), urgent: true } : { room: room!.room_id, body: body.trim(), urgent: true });
      setBody('');
      setSent(true);
      onDone?.();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form class="form urgent-form" onSubmit={submit} aria-label={t('urgent.title')}>
      <label>{t('urgent.body')}<textarea rows={2} value={body} onInput={(e) => setBody(e.currentTarget.value)} required dir="auto" /></label>
      {room !== null && <label class="check"><input type="checkbox" checked={company} onChange={(e) => setCompany(e.currentTarget.checked)} />{t('urgent.company')}</label>}
      <button class="primary" type="submit">{t('urgent.send')}</button>
      {sent && <p role="status">{t('urgent.sent')}</p>}
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}
