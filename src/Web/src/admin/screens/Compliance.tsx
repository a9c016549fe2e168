// Compliance exports (issue 5b): the officer's export recipient (an age public key, approved by a security officer),
// requesting an export of a room or a person's messages, and downloading the encrypted file. The download goes through
// fetch with the Authorization header into a blob: the token never appears in a URL.
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { del, get, post, put, seg } from '../api';
import { adminSession } from '../session';
import { ErrorBox, Field, Status, useAction, useLoad } from '../ui';

interface RecipientStatus {
  user_id: string;
  recipient: string | null;
  key_id: string | null;
  approved_by: string | null;
  approved_at: string | null;
  pending_request: { id: number; status: string; recipient_key_id: string | null } | null;
}

interface ExportManifest {
  file: string;
  created_at: string;
  size: number;
  sha256: string;
  room: string | null;
  user: string | null;
  since: string | null;
  until: string | null;
  reason: string | null;
  rooms: number;
  events: number;
  officer_key_id: string;
}

/** Downloads a file of the API as the signed-in officer. */
async function downloadFile(path: string, name: string): Promise<void> {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${adminSession.value?.token ?? ''}` }, credentials: 'omit' });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function ComplianceScreen() {
  const recipient = useLoad(() => get<RecipientStatus>('/v1/compliance/recipient'));
  const exports = useLoad(() => get<{ exports: ExportManifest[] }>('/v1/compliance/exports'));
  const action = useAction();
  const [key, setKey] = useState('');
  const [scope, setScope] = useState({ room: '', user: '', since: '', until: '', reason: '' });
  const r = recipient.data;
  const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);
  return (
    <section aria-labelledby="compliance-h">
      <h1 id="compliance-h">{t('section.exports')}</h1>
      <ErrorBox error={recipient.error ?? exports.error ?? action.error} />
      <Status text={action.status} />
      <section class="admin-panel" aria-labelledby="recipient-h">
        <h2 id="recipient-h">{t('exports.recipient')}</h2>
        {r && (r.key_id ? <p>{t('exports.recipient.current', { key: r.key_id, by: r.approved_by ?? '' })}</p> : <p>{t('exports.recipient.none')}</p>)}
        {r?.pending_request && <p>{t('exports.recipient.pending', { id: r.pending_request.id, key: r.pending_request.recipient_key_id ?? '' })}</p>}
        <form class="admin-form" onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => put('/v1/compliance/recipient', { recipient: key.trim() }), t('exports.recipient.requested'))) {
            setKey('');
            recipient.reload();
          }
        }}>
          <Field id="export-recipient" label={t('exports.recipient.key')}>
            <input id="export-recipient" required value={key} spellcheck={false} onInput={(e) => setKey(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={action.busy}>{t('exports.recipient.request')}</button>
        </form>
        {r?.key_id && (
          <button type="button" class="danger" onClick={async () => {
            if (await action.run(() => del('/v1/compliance/recipient'))) recipient.reload();
          }}>{t('exports.recipient.remove')}</button>
        )}
      </section>
      <form class="admin-form" aria-labelledby="export-new-h" onSubmit={async (e) => {
        e.preventDefault();
        if (await action.run(() => post('/v1/compliance/exports', {
          room: scope.room.trim() || undefined, user: scope.user.trim() || undefined,
          since: iso(scope.since), until: iso(scope.until), reason: scope.reason.trim() || undefined,
        }), t('exports.created'))) exports.reload();
      }}>
        <h2 id="export-new-h">{t('exports.new')}</h2>
        <Field id="export-room" label={t('exports.room')}>
          <input id="export-room" value={scope.room} onInput={(e) => setScope({ ...scope, room: e.currentTarget.value })} />
        </Field>
        <Field id="export-user" label={t('exports.user')}>
          <input id="export-user" value={scope.user} onInput={(e) => setScope({ ...scope, user: e.currentTarget.value })} />
        </Field>
        <Field id="export-since" label={t('audit.since')}>
          <input id="export-since" type="datetime-local" value={scope.since} onInput={(e) => setScope({ ...scope, since: e.currentTarget.value })} />
        </Field>
        <Field id="export-until" label={t('audit.until')}>
          <input id="export-until" type="datetime-local" value={scope.until} onInput={(e) => setScope({ ...scope, until: e.currentTarget.value })} />
        </Field>
        <Field id="export-reason" label={t('exports.reason')}>
          <input id="export-reason" value={scope.reason} onInput={(e) => setScope({ ...scope, reason: e.currentTarget.value })} />
        </Field>
        <button type="submit" class="primary" disabled={action.busy || !r?.key_id}>{t('exports.request')}</button>
      </form>
      <table class="admin-table" aria-labelledby="compliance-h">
        <thead>
          <tr>
            <th scope="col">{t('exports.file')}</th>
            <th scope="col">{t('audit.time')}</th>
            <th scope="col">{t('exports.scope')}</th>
            <th scope="col">{t('exports.events')}</th>
            <th scope="col"><span class="visually-hidden">{t('exports.download')}</span></th>
          </tr>
        </thead>
        <tbody>
          {(exports.data?.exports ?? []).map((m) => (
            <tr key={m.file}>
              <td>{m.file}</td>
              <td>{m.created_at}</td>
              <td>{[m.room, m.user, m.since && `≥ ${m.since}`, m.until && `< ${m.until}`, m.reason].filter(Boolean).join(' · ')}</td>
              <td>{m.events}</td>
              <td>
                <button type="button" onClick={() => void action.run(() => downloadFile(`/v1/compliance/exports/${seg(m.file)}`, m.file))}>
                  {t('exports.download')}<span class="visually-hidden"> {m.file}</span>
                </button>{' '}
                <button type="button" onClick={() => void action.run(() => downloadFile(`/v1/compliance/exports/${seg(m.file + '.manifest.json')}`, m.file + '.manifest.json'))}>
                  {t('exports.manifest')}<span class="visually-hidden"> {m.file}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
