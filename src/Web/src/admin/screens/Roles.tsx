// Roles: built-in and custom company roles; admins create and delete custom roles (assigning is on the Users screen).
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { del, get, post, seg, type Role } from '../api';
import { ErrorBox, Field, Status, useAction, useLoad } from '../ui';

export function RolesScreen({ canEdit }: { canEdit: boolean }) {
  const { data, error, reload } = useLoad(() => get<{ roles: Role[] }>('/v1/admin/roles'));
  const action = useAction();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  return (
    <section aria-labelledby="roles-h">
      <h1 id="roles-h">{t('section.roles')}</h1>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      <table class="admin-table" aria-labelledby="roles-h">
        <thead>
          <tr>
            <th scope="col">{t('roles.name')}</th>
            <th scope="col">{t('roles.description')}</th>
            {canEdit && <th scope="col"><span class="visually-hidden">{t('roles.delete')}</span></th>}
          </tr>
        </thead>
        <tbody>
          {(data?.roles ?? []).map((r) => (
            <tr key={r.name}>
              <td>{r.name}</td>
              <td>{r.built_in ? t('roles.builtin') : r.description}</td>
              {canEdit && (
                <td>
                  {!r.built_in && (
                    <button type="button" class="danger" onClick={async () => {
                      if (await action.run(() => del(`/v1/admin/roles/${seg(r.name)}`))) reload();
                    }}>{t('roles.delete')}<span class="visually-hidden"> {r.name}</span></button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit && (
        <form class="admin-form" aria-labelledby="role-create-h" onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => post('/v1/admin/roles', { name: name.trim(), description: description.trim() }))) {
            setName('');
            setDescription('');
            reload();
          }
        }}>
          <h2 id="role-create-h">{t('roles.create')}</h2>
          <Field id="role-name" label={t('roles.name')}>
            <input id="role-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field id="role-description" label={t('roles.description')}>
            <input id="role-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </Field>
          <button type="submit" class="primary" disabled={action.busy}>{t('roles.create')}</button>
        </form>
      )}
    </section>
  );
}
