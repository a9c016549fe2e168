// Policies (room creation, direct messages, invites, exemptions, self-editable fields) and the federation partner
// allowlist. The direct-message allowlist (department pairs) is kept as the server has it; it is edited with the CLI.
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { del, get, post, put, seg, type Partner, type Policy } from '../api';
import { splitList } from '../format';
import { ErrorBox, Field, Status, useAction, useLoad } from '../ui';

export function PoliciesScreen({ canPartners }: { canPartners: boolean }) {
  const { data, error, reload } = useLoad(() => get<Policy>('/v1/admin/policies'));
  const action = useAction();
  return (
    <section aria-labelledby="policies-h">
      <h1 id="policies-h">{t('section.policies')}</h1>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      {data && <PolicyForm key={data.updated_at ?? 0} data={data} busy={action.busy}
        onSave={async (body) => {
          if (await action.run(() => put('/v1/admin/policies', body))) reload();
        }} />}
      {canPartners && <Partners />}
    </section>
  );
}

/** Starts from the server's policy when it mounts (keyed by its update time), so a reload never overwrites typing. */
function PolicyForm({ data, busy, onSave }: { data: Policy; busy: boolean; onSave: (body: Record<string, unknown>) => Promise<void> }) {
  const [form, setForm] = useState<Record<string, string>>(() => ({
    room_creation: data.room_creation,
    room_creation_roles: data.room_creation_roles.join(', '),
    direct_messages: data.direct_messages,
    invites: data.invites,
    invite_roles: data.invite_roles.join(', '),
    exempt_roles: data.exempt_roles.join(', '),
    self_editable: data.self_editable.join(', '),
  }));
  const select = (f: string, label: string, options: string[]) => (
    <Field id={`policy-${f}`} label={label}>
      <select id={`policy-${f}`} value={form[f] ?? ''} onChange={(e) => setForm({ ...form, [f]: e.currentTarget.value })}>
        {options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    </Field>
  );
  const text = (f: string, label: string) => (
    <Field id={`policy-${f}`} label={label}>
      <input id={`policy-${f}`} value={form[f] ?? ''} onInput={(e) => setForm({ ...form, [f]: e.currentTarget.value })} />
    </Field>
  );
  return (
    <form class="admin-form" onSubmit={(e) => {
      e.preventDefault();
      void onSave({
        room_creation: form.room_creation,
        room_creation_roles: splitList(form.room_creation_roles ?? ''),
        direct_messages: form.direct_messages,
        invites: form.invites,
        invite_roles: splitList(form.invite_roles ?? ''),
        exempt_roles: splitList(form.exempt_roles ?? ''),
        self_editable: splitList(form.self_editable ?? ''),
      });
    }}>
      {select('room_creation', t('policies.room.creation'), ['everyone', 'roles', 'admins'])}
      {text('room_creation_roles', t('policies.room.creation.roles'))}
      {select('direct_messages', t('policies.dm'), ['everyone', 'same_department', 'allowlist'])}
      {select('invites', t('policies.invites'), ['everyone', 'moderators', 'roles'])}
      {text('invite_roles', t('policies.invite.roles'))}
      {text('exempt_roles', t('policies.exempt.roles'))}
      {text('self_editable', t('policies.self.editable'))}
      <button type="submit" class="primary" disabled={busy}>{t('policies.save')}</button>
    </form>
  );
}

function Partners() {
  const { data, error, reload } = useLoad(() => get<{ partners: Partner[] }>('/v1/admin/federation/partners'));
  const action = useAction();
  const [server, setServer] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [note, setNote] = useState('');
  return (
    <section aria-labelledby="partners-h">
      <h2 id="partners-h">{t('partners.title')}</h2>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      {data && data.partners.length === 0 && <p>{t('partners.none')}</p>}
      {data && data.partners.length > 0 && (
        <ul>
          {data.partners.map((p) => (
            <li key={p.server}>
              {p.server}{p.base_url ? ` (${p.base_url})` : ''}{p.note ? ` · ${p.note}` : ''}{' '}
              <button type="button" class="danger" onClick={async () => {
                if (await action.run(() => del(`/v1/admin/federation/partners/${seg(p.server)}`))) reload();
              }}>{t('partners.remove')}<span class="visually-hidden"> {p.server}</span></button>
            </li>
          ))}
        </ul>
      )}
      <form class="admin-form" onSubmit={async (e) => {
        e.preventDefault();
        if (await action.run(() => post('/v1/admin/federation/partners', { server: server.trim(), base_url: baseUrl.trim() || undefined, note: note.trim() || undefined }))) {
          setServer('');
          setBaseUrl('');
          setNote('');
          reload();
        }
      }}>
        <Field id="partner-server" label={t('partners.server')}>
          <input id="partner-server" required value={server} onInput={(e) => setServer(e.currentTarget.value)} />
        </Field>
        <Field id="partner-url" label={t('partners.base.url')}>
          <input id="partner-url" type="url" value={baseUrl} onInput={(e) => setBaseUrl(e.currentTarget.value)} />
        </Field>
        <Field id="partner-note" label={t('partners.note')}>
          <input id="partner-note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={action.busy}>{t('partners.add')}</button>
      </form>
    </section>
  );
}
