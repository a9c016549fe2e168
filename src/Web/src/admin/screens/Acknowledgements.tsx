// Acknowledgement dashboards (issue 7b): urgent messages and alerts that ask for acknowledgement, with who has
// acknowledged, read, or not yet received them, and the CSV export of each (the server's own CSV).
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { get, query, seg } from '../api';
import { download } from '../format';
import { adminSession } from '../session';
import { ErrorBox, When, errorText, useLoad } from '../ui';

interface AlertSummary {
  alert_id: string;
  room_id: string;
  sender: string;
  urgent: boolean;
  scope: string;
  target: string | null;
  state: string;
  created_at: number;
  recipients: number;
}

interface AlertDetail {
  counts: Record<string, number>;
  recipients: { user: string; display_name: string | null; status: string; acknowledged_at: number | null; reminders: number }[];
}

export function AcknowledgementsScreen() {
  const { data, error } = useLoad(() => get<{ alerts: AlertSummary[] }>('/v1/admin/alerts'));
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="acks-h">
      <h1 id="acks-h">{t('section.acks')}</h1>
      <ErrorBox error={error} />
      <table class="admin-table" aria-labelledby="acks-h">
        <thead>
          <tr>
            <th scope="col">{t('acks.alert')}</th>
            <th scope="col">{t('moderation.sender')}</th>
            <th scope="col">{t('audit.time')}</th>
            <th scope="col">{t('users.status')}</th>
            <th scope="col">{t('acks.recipients')}</th>
          </tr>
        </thead>
        <tbody>
          {(data?.alerts ?? []).map((a) => (
            <tr key={a.alert_id}>
              <td>
                <button type="button" class="link" aria-expanded={open === a.alert_id} onClick={() => setOpen(open === a.alert_id ? null : a.alert_id)}>
                  {a.target ?? a.scope}{a.urgent ? ` · ${t('acks.urgent')}` : ''}
                </button>
              </td>
              <td>{a.sender}</td>
              <td><When ms={a.created_at} /></td>
              <td>{a.state}</td>
              <td>{a.recipients}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <AlertView key={open} alertId={open} />}
    </section>
  );
}

function AlertView({ alertId }: { alertId: string }) {
  const { data, error } = useLoad(() => get<AlertDetail>(`/v1/alerts/${seg(alertId)}`), [alertId]);
  const [exportError, setExportError] = useState<string | null>(null);
  async function exportCsv() {
    try {
      const res = await fetch(`/v1/alerts/${seg(alertId)}${query({ format: 'csv' })}`, {
        headers: { Authorization: `Bearer ${adminSession.value?.token ?? ''}` }, credentials: 'omit',
      });
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      download(`acknowledgements-${alertId}.csv`, await res.text());
    } catch (e) {
      setExportError(errorText(e));
    }
  }
  return (
    <section class="admin-panel" aria-labelledby="ack-detail-h">
      <h2 id="ack-detail-h">{t('acks.detail')}</h2>
      <ErrorBox error={error ?? exportError} />
      <button type="button" onClick={() => void exportCsv()}>{t('audit.export')}</button>
      {data && (
        <>
          <p>{Object.entries(data.counts).map(([k, v]) => `${k}: ${v}`).join(' · ')}</p>
          <table class="admin-table" aria-labelledby="ack-detail-h">
            <thead>
              <tr>
                <th scope="col">{t('users.name')}</th>
                <th scope="col">{t('users.status')}</th>
                <th scope="col">{t('acks.acknowledged')}</th>
                <th scope="col">{t('acks.reminders')}</th>
              </tr>
            </thead>
            <tbody>
              {data.recipients.map((r) => (
                <tr key={r.user}>
                  <td>{r.display_name ?? r.user}</td>
                  <td>{r.status}</td>
                  <td><When ms={r.acknowledged_at} /></td>
                  <td>{r.reminders}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

