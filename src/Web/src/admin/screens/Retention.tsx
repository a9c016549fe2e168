// Retention and legal holds (issue 7a): the company's content policy (edit and delete windows, retention days),
// a room's own retention, a retention run on demand, and legal holds on a person or a room (create, release).
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { del, get, post, put, seg } from '../api';
import { ErrorBox, Field, Status, When, useAction, useLoad } from '../ui';

interface ContentPolicy {
  edit_window_minutes: number | null;
  delete_window_minutes: number | null;
  retention_days: number | null;
}

interface LegalHold {
  id: number;
  kind: string;
  target: string;
  reason: string;
  created_by: string;
  created_at: number;
  released: boolean;
  released_by: string | null;
  released_at: number | null;
}

const num = (s: string): number | null => (s.trim() === '' ? null : Number.parseInt(s, 10));

export function RetentionScreen({ canEditPolicy }: { canEditPolicy: boolean }) {
  const policy = useLoad(() => get<ContentPolicy>('/v1/admin/policies/content'));
  const holds = useLoad(() => get<{ holds: LegalHold[] }>('/v1/admin/legal-holds'));
  const action = useAction();
  const [room, setRoom] = useState({ id: '', days: '' });
  const [hold, setHold] = useState({ kind: 'user', target: '', reason: '' });
  return (
    <section aria-labelledby="retention-h">
      <h1 id="retention-h">{t('section.retention')}</h1>
      <ErrorBox error={policy.error ?? holds.error ?? action.error} />
      <Status text={action.status} />
      {policy.data && <ContentPolicyForm key={JSON.stringify(policy.data)} data={policy.data} canEdit={canEditPolicy} busy={action.busy}
        onSave={async (body) => {
          if (await action.run(() => put('/v1/admin/policies/content', body))) policy.reload();
        }} />}
      <form class="admin-form" aria-labelledby="room-retention-h" onSubmit={async (e) => {
        e.preventDefault();
        if (await action.run(() => put(`/v1/admin/rooms/${seg(room.id.trim())}/retention`, { days: Number.parseInt(room.days || '0', 10) }))) setRoom({ id: '', days: '' });
      }}>
        <h2 id="room-retention-h">{t('retention.room')}</h2>
        <Field id="room-retention-id" label={t('exports.room')}>
          <input id="room-retention-id" required value={room.id} onInput={(e) => setRoom({ ...room, id: e.currentTarget.value })} />
        </Field>
        <Field id="room-retention-days" label={t('retention.room.days')}>
          <input id="room-retention-days" type="number" min="0" required value={room.days} onInput={(e) => setRoom({ ...room, days: e.currentTarget.value })} />
        </Field>
        <button type="submit" disabled={action.busy}>{t('action.save')}</button>
      </form>
      <p><button type="button" disabled={action.busy} onClick={() => void action.run(() => post('/v1/admin/retention/run'))}>{t('retention.run')}</button></p>
      <section aria-labelledby="holds-h">
        <h2 id="holds-h">{t('holds.title')}</h2>
        <table class="admin-table" aria-labelledby="holds-h">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">{t('holds.target')}</th>
              <th scope="col">{t('holds.reason')}</th>
              <th scope="col">{t('scim.created')}</th>
              <th scope="col">{t('users.status')}</th>
              <th scope="col"><span class="visually-hidden">{t('holds.release')}</span></th>
            </tr>
          </thead>
          <tbody>
            {(holds.data?.holds ?? []).map((h) => (
              <tr key={h.id}>
                <td>{h.id}</td>
                <td>{h.kind}: {h.target}</td>
                <td>{h.reason}</td>
                <td>{h.created_by}<br /><When ms={h.created_at} /></td>
                <td>{h.released ? t('holds.released') : t('holds.active')}</td>
                <td>
                  {!h.released && (
                    <button type="button" class="danger" onClick={async () => {
                      if (await action.run(() => del(`/v1/admin/legal-holds/${h.id}`))) holds.reload();
                    }}>{t('holds.release')}<span class="visually-hidden"> #{h.id}</span></button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form class="admin-form" onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => post('/v1/admin/legal-holds', { kind: hold.kind, target: hold.target.trim(), reason: hold.reason.trim() }))) {
            setHold({ kind: 'user', target: '', reason: '' });
            holds.reload();
          }
        }}>
          <Field id="hold-kind" label={t('holds.kind')}>
            <select id="hold-kind" value={hold.kind} onChange={(e) => setHold({ ...hold, kind: e.currentTarget.value })}>
              <option value="user">{t('holds.kind.user')}</option>
              <option value="room">{t('holds.kind.room')}</option>
            </select>
          </Field>
          <Field id="hold-target" label={t('holds.target')}>
            <input id="hold-target" required value={hold.target} onInput={(e) => setHold({ ...hold, target: e.currentTarget.value })} />
          </Field>
          <Field id="hold-reason" label={t('holds.reason')}>
            <input id="hold-reason" required value={hold.reason} onInput={(e) => setHold({ ...hold, reason: e.currentTarget.value })} />
          </Field>
          <button type="submit" class="primary" disabled={action.busy}>{t('holds.create')}</button>
        </form>
      </section>
    </section>
  );
}

/** Starts from the server's policy when it mounts, so a reload never overwrites typing. */
function ContentPolicyForm({ data, canEdit, busy, onSave }: { data: ContentPolicy; canEdit: boolean; busy: boolean; onSave: (body: Record<string, unknown>) => Promise<void> }) {
  const [form, setForm] = useState(() => ({
    edit: data.edit_window_minutes?.toString() ?? '', del: data.delete_window_minutes?.toString() ?? '', days: data.retention_days?.toString() ?? '',
  }));
  return (
    <form class="admin-form" aria-labelledby="content-policy-h" onSubmit={(e) => {
      e.preventDefault();
      void onSave({ edit_window_minutes: num(form.edit), delete_window_minutes: num(form.del), retention_days: num(form.days) ?? 0 });
    }}>
      <h2 id="content-policy-h">{t('retention.policy')}</h2>
      <Field id="retention-days" label={t('retention.days')}>
        <input id="retention-days" type="number" min="0" readOnly={!canEdit} value={form.days} onInput={(e) => setForm({ ...form, days: e.currentTarget.value })} />
      </Field>
      <Field id="retention-edit" label={t('retention.edit.window')}>
        <input id="retention-edit" type="number" min="0" readOnly={!canEdit} value={form.edit} onInput={(e) => setForm({ ...form, edit: e.currentTarget.value })} />
      </Field>
      <Field id="retention-delete" label={t('retention.delete.window')}>
        <input id="retention-delete" type="number" min="0" readOnly={!canEdit} value={form.del} onInput={(e) => setForm({ ...form, del: e.currentTarget.value })} />
      </Field>
      {canEdit && <button type="submit" class="primary" disabled={busy}>{t('action.save')}</button>}
    </form>
  );
}
