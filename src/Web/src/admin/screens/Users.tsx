// Users: search and filters (status, never logged in, not seen for N days), last login, create, edit a profile,
// roles, deactivate (takes effect at once: the server signs out and wipes every device), devices with revoke and
// revoke-and-wipe, and the CSV import with its dry run. Each part shows only when the server granted its section.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { del, get, patch, post, postCsv, put, query, seg, type CsvImportResult, type Device, type UserPage, type UserRow } from '../api';
import { splitList } from '../format';
import { ErrorBox, Field, Status, When, errorText, useAction, useLoad } from '../ui';

interface Filters {
  q: string;
  status: 'all' | 'active' | 'deactivated';
  never: boolean;
  inactiveDays: string;
}

function filterQuery(f: Filters, after: number | null): string {
  const days = Number.parseInt(f.inactiveDays, 10);
  return query({
    q: f.q.trim(),
    status: f.status === 'all' ? undefined : f.status,
    never_logged_in: f.never || undefined,
    last_login_before: Number.isFinite(days) && days > 0 ? Date.now() - days * 86_400_000 : undefined,
    after: after ?? undefined,
    limit: 50,
  });
}

export function UsersScreen({ can }: { can: (section: string) => boolean }) {
  const [filters, setFilters] = useState<Filters>({ q: '', status: 'all', never: false, inactiveDays: '' });
  const [rows, setRows] = useState<UserRow[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const request = useRef(0);

  async function load(after: number | null) {
    const mine = ++request.current;
    setLoading(true);
    try {
      const page = await get<UserPage>(`/v1/admin/users${filterQuery(filters, after)}`);
      if (mine !== request.current) return; // a newer search superseded this one
      setRows((old) => (after === null ? page.users : [...old, ...page.users]));
      setNext(page.next);
      setError(null);
    } catch (e) {
      if (mine === request.current) setError(errorText(e));
    } finally {
      if (mine === request.current) setLoading(false);
    }
  }

  useEffect(() => {
    void load(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filters, tick]);

  const set = (patchValue: Partial<Filters>) => setFilters((f) => ({ ...f, ...patchValue }));
  const refresh = () => setTick((n) => n + 1);

  return (
    <section aria-labelledby="users-h">
      <h1 id="users-h">{t('section.users')}</h1>
      <form class="admin-filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field id="users-q" label={t('users.search')}>
          <input id="users-q" type="search" value={filters.q} onInput={(e) => set({ q: e.currentTarget.value })} />
        </Field>
        <Field id="users-status" label={t('users.status')}>
          <select id="users-status" value={filters.status} onChange={(e) => set({ status: e.currentTarget.value as Filters['status'] })}>
            <option value="all">{t('users.status.all')}</option>
            <option value="active">{t('users.status.active')}</option>
            <option value="deactivated">{t('users.status.deactivated')}</option>
          </select>
        </Field>
        <div class="field field-check">
          <input id="users-never" type="checkbox" checked={filters.never} onChange={(e) => set({ never: e.currentTarget.checked })} />
          <label for="users-never">{t('users.never')}</label>
        </div>
        <Field id="users-days" label={t('users.inactive.days')}>
          <input id="users-days" type="number" min="1" inputMode="numeric" value={filters.inactiveDays}
            onInput={(e) => set({ inactiveDays: e.currentTarget.value })} />
        </Field>
      </form>
      <ErrorBox error={error} />
      <p role="status" class="muted">{loading ? t('admin.loading') : t('users.count', { n: rows.length })}</p>
      <table class="admin-table" aria-labelledby="users-h">
        <thead>
          <tr>
            <th scope="col">{t('users.name')}</th>
            <th scope="col">{t('users.username')}</th>
            <th scope="col">{t('users.email')}</th>
            <th scope="col">{t('users.department')}</th>
            <th scope="col">{t('users.roles')}</th>
            <th scope="col">{t('users.state')}</th>
            <th scope="col">{t('users.last.login')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((u) => (
            <tr key={u.user_id} data-user={u.user_id}>
              <td>
                <button type="button" class="link" aria-label={t('users.open', { name: u.display_name })}
                  aria-expanded={selected === u.user_id} onClick={() => setSelected(selected === u.user_id ? null : u.user_id)}>
                  {u.display_name}
                </button>
              </td>
              <td>{u.username}</td>
              <td>{u.email ?? ''}</td>
              <td>{u.department ?? ''}</td>
              <td>{u.roles.join(', ')}</td>
              <td>{u.active ? t('users.status.active') : t('users.status.deactivated')}</td>
              <td><When ms={u.last_login_at} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && <button type="button" onClick={() => void load(next)} disabled={loading}>{t('admin.more')}</button>}
      {selected && <UserDetail key={selected} userId={selected} can={can} onChanged={refresh} onClose={() => setSelected(null)} />}
      {can('users.edit') && <CreateUser onCreated={refresh} canRoles={can('users.roles')} />}
      {can('users.import') && <CsvImport onApplied={refresh} />}
    </section>
  );
}

/** GET /v1/admin/users/{id}: the row's fields and the full directory profile. */
interface UserDetailData extends UserRow {
  profile: Record<string, unknown> | null;
}

const editable = ['display_name', 'email', 'title', 'department', 'team', 'location'] as const;
const fieldLabel: Record<(typeof editable)[number], string> = {
  display_name: 'users.display.name', email: 'users.email', title: 'users.title', department: 'users.department', team: 'users.team', location: 'users.location',
};

function UserDetail({ userId, can, onChanged, onClose }: { userId: string; can: (s: string) => boolean; onChanged: () => void; onClose: () => void }) {
  const { data, error, reload } = useLoad(() => get<UserDetailData>(`/v1/admin/users/${seg(userId)}`), [userId]);
  if (!data) return <ErrorBox error={error} />;
  // The forms take the server's values when they mount (not in an effect, which could run after the admin started
  // typing and overwrite it); later reloads update the row shown, not what is being edited.
  return <UserDetailForms key={data.user_id} data={data} can={can} onClose={onClose}
    onChanged={() => {
      reload();
      onChanged();
    }} />;
}

function UserDetailForms({ data, can, onChanged, onClose }: { data: UserDetailData; can: (s: string) => boolean; onChanged: () => void; onClose: () => void }) {
  const u: UserRow = data;
  const action = useAction();
  const [form, setForm] = useState<Record<string, string>>(() => {
    const p = data.profile ?? {};
    return Object.fromEntries(editable.map((f) => [f, typeof p[f] === 'string' ? (p[f] as string) : f === 'display_name' ? u.display_name : '']));
  });
  const [roles, setRoles] = useState(() => u.roles.join(', '));
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const done = onChanged;
  async function saveProfile(e: Event) {
    e.preventDefault();
    const body: Record<string, string | null> = {};
    for (const f of editable) body[f] = form[f]?.trim() ? form[f].trim() : f === 'display_name' ? u.display_name : null;
    if (await action.run(() => patch(`/v1/admin/users/${seg(u.user_id)}`, body), t('users.saved'))) done();
  }
  return (
    <section class="admin-panel" aria-labelledby="user-detail-h">
      <h2 id="user-detail-h">{t('users.edit', { name: u.display_name })}</h2>
      <button type="button" onClick={onClose}>{t('users.close')}</button>
      <p>{u.user_id} · {t('users.last.login')}: <When ms={u.last_login_at} /></p>
      {can('users.edit') && (
        <form onSubmit={saveProfile} class="admin-form">
          {editable.map((f) => (
            <Field key={f} id={`edit-${f}`} label={t(fieldLabel[f])}>
              <input id={`edit-${f}`} value={form[f] ?? ''} onInput={(e) => setForm({ ...form, [f]: e.currentTarget.value })} />
            </Field>
          ))}
          <button type="submit" class="primary" disabled={action.busy}>{t('users.save')}</button>
        </form>
      )}
      {can('users.roles') && (
        <form class="admin-form" onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => put(`/v1/admin/users/${seg(u.user_id)}/roles`, { roles: splitList(roles) }), t('users.saved'))) done();
        }}>
          <Field id="edit-roles" label={t('users.roles.edit')}>
            <input id="edit-roles" value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={action.busy}>{t('users.roles.save')}</button>
        </form>
      )}
      {can('users.edit') && u.active && !confirming && <button type="button" class="danger" onClick={() => setConfirming(true)}>{t('users.deactivate')}</button>}
      {can('users.edit') && u.active && confirming && (
        <form class="admin-form" onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => post(`/v1/admin/users/${seg(u.user_id)}/deactivate`, reason.trim() ? { reason: reason.trim() } : {}),
            t('users.deactivated', { user: u.display_name }))) {
            setConfirming(false);
            done();
          }
        }}>
          <Field id="deactivate-reason" label={t('users.deactivate.reason')}>
            <input id="deactivate-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </Field>
          <button type="submit" class="danger" disabled={action.busy}>{t('users.deactivate')}: {u.display_name}</button>
          <button type="button" onClick={() => setConfirming(false)}>{t('action.cancel')}</button>
        </form>
      )}
      {can('users.edit') && !u.active && (
        <button type="button" onClick={async () => {
          if (await action.run(() => post(`/v1/admin/users/${seg(u.user_id)}/reactivate`))) done();
        }}>{t('users.reactivate')}</button>
      )}
      <ErrorBox error={action.error} />
      <Status text={action.status} />
      {can('users.devices') && <Devices userId={u.user_id} />}
    </section>
  );
}

function Devices({ userId }: { userId: string }) {
  const { data, error, reload } = useLoad(() => get<{ sessions: Device[] }>(`/v1/admin/users/${seg(userId)}/sessions`), [userId]);
  const action = useAction();
  return (
    <section aria-labelledby="devices-h">
      <h3 id="devices-h">{t('users.devices')}</h3>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      {data && data.sessions.length === 0 && <p>{t('users.device.none')}</p>}
      {data && data.sessions.length > 0 && (
        <table class="admin-table" aria-labelledby="devices-h">
          <thead>
            <tr>
              <th scope="col">{t('users.device')}</th>
              <th scope="col">{t('users.device.seen')}</th>
              <th scope="col">{t('users.device.address')}</th>
              <th scope="col"><span class="visually-hidden">{t('users.device.revoke')}</span></th>
            </tr>
          </thead>
          <tbody>
            {data.sessions.map((s) => (
              <tr key={s.session_id}>
                <td>{s.device_name ?? s.session_id}</td>
                <td><When ms={s.last_seen_at} /></td>
                <td>{s.last_address ?? ''}</td>
                <td>
                  <button type="button" onClick={async () => {
                    if (await action.run(() => del(`/v1/admin/sessions/${seg(s.session_id)}`))) reload();
                  }}>{t('users.device.revoke')}</button>{' '}
                  <button type="button" class="danger" onClick={async () => {
                    if (await action.run(() => post(`/v1/admin/sessions/${seg(s.session_id)}/wipe`, { reason: 'device reported lost' }))) reload();
                  }}>{t('users.device.wipe')}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function CreateUser({ onCreated, canRoles }: { onCreated: () => void; canRoles: boolean }) {
  const empty = { username: '', display_name: '', email: '', department: '', title: '', password: '', roles: '' };
  const [form, setForm] = useState(empty);
  const [link, setLink] = useState<string | null>(null);
  const action = useAction();
  async function submit(e: Event) {
    e.preventDefault();
    setLink(null);
    const body: Record<string, unknown> = { username: form.username.trim(), display_name: form.display_name.trim() };
    for (const f of ['email', 'department', 'title'] as const) if (form[f].trim()) body[f] = form[f].trim();
    if (form.password) body.password = form.password;
    if (canRoles && form.roles.trim()) body.roles = splitList(form.roles);
    let created: { user: { user_id: string }; setup_link: string | null } | null = null;
    if (await action.run(async () => {
      created = await post<{ user: { user_id: string }; setup_link: string | null }>('/v1/admin/users', body);
    }, t('users.created', { user: body.username as string }))) {
      setLink(created!.setup_link);
      setForm(empty);
      onCreated();
    }
  }
  const input = (f: keyof typeof empty, label: string, type: 'text' | 'email' | 'password' = 'text', required = false) => (
    <Field id={`create-${f}`} label={label}>
      {/* Preact's input typing is a union per type; one helper serves text, e-mail and password inputs. */}
      <input id={`create-${f}`} type={type as 'text'} required={required} value={form[f]} autocomplete={type === 'password' ? 'new-password' : 'off'}
        onInput={(e) => setForm({ ...form, [f]: e.currentTarget.value })} />
    </Field>
  );
  return (
    <section class="admin-panel" aria-labelledby="create-h">
      <h2 id="create-h">{t('users.create')}</h2>
      <form class="admin-form" onSubmit={submit}>
        {input('username', t('users.username'), 'text', true)}
        {input('display_name', t('users.display.name'), 'text', true)}
        {input('email', t('users.email'), 'email')}
        {input('department', t('users.department'))}
        {input('title', t('users.title'))}
        {canRoles && input('roles', t('users.roles.edit'))}
        {input('password', t('users.password.optional'), 'password')}
        <button type="submit" class="primary" disabled={action.busy}>{t('users.create')}</button>
      </form>
      <ErrorBox error={action.error} />
      <Status text={action.status} />
      {link && <p>{t('users.setup.link')} <code class="secret">{link}</code></p>}
    </section>
  );
}

function CsvImport({ onApplied }: { onApplied: () => void }) {
  const [csv, setCsv] = useState<string | null>(null);
  const [fileName, setFileName] = useState('');
  const [deactivateMissing, setDeactivateMissing] = useState(false);
  const [setupLinks, setSetupLinks] = useState(false);
  const [result, setResult] = useState<CsvImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(dry: boolean) {
    if (csv === null) return;
    setBusy(true);
    setError(null);
    try {
      const r = await postCsv<CsvImportResult>(`/v1/admin/import/csv${query({ dry_run: dry, deactivate_missing: deactivateMissing, setup_links: setupLinks })}`, csv);
      setResult(r);
      if (!dry) onApplied();
    } catch (e) {
      setResult(null);
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  const memberships = (result?.memberships as { room_name: string; user_id: string; change: string }[] | null | undefined) ?? [];
  const list = (label: string, items: string[]) => items.length > 0 && (<><dt>{label} ({items.length})</dt><dd>{items.join(', ')}</dd></>);
  return (
    <section class="admin-panel" aria-labelledby="import-h">
      <h2 id="import-h">{t('import.title')}</h2>
      <div class="admin-form">
        <Field id="import-file" label={t('import.file')}>
          <input id="import-file" type="file" accept=".csv,text/csv" onChange={async (e) => {
            const file = e.currentTarget.files?.[0];
            setResult(null);
            setFileName(file?.name ?? '');
            setCsv(file ? await file.text() : null);
          }} />
        </Field>
        <div class="field field-check">
          <input id="import-deactivate" type="checkbox" checked={deactivateMissing} onChange={(e) => setDeactivateMissing(e.currentTarget.checked)} />
          <label for="import-deactivate">{t('import.deactivate.missing')}</label>
        </div>
        <div class="field field-check">
          <input id="import-links" type="checkbox" checked={setupLinks} onChange={(e) => setSetupLinks(e.currentTarget.checked)} />
          <label for="import-links">{t('import.setup.links')}</label>
        </div>
        <button type="button" disabled={busy || csv === null} onClick={() => void run(true)}>{t('import.dry')}</button>{' '}
        <button type="button" class="primary" disabled={busy || csv === null || !result?.dry_run} onClick={() => void run(false)}>{t('import.apply')}</button>
      </div>
      <ErrorBox error={error} />
      <div role="status">
        {result && (
          <>
            <p>{result.dry_run ? t('import.result.dry') : t('import.result.applied')} {fileName}</p>
            <dl>
              {list(t('import.created'), result.created)}
              {list(t('import.updated'), result.updated.map((u) => u.user_id))}
              {list(t('import.deactivated'), result.deactivated)}
              {list(t('import.reactivated'), result.reactivated)}
              {list(t('import.memberships'), memberships.map((m) => `${m.user_id} ${m.change} ${m.room_name}`))}
            </dl>
          </>
        )}
      </div>
    </section>
  );
}
