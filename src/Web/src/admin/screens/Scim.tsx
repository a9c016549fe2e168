// SCIM tokens for identity providers (Okta, Entra ID): list, create (the token is shown once), revoke.
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { del, get, post, seg, type ScimToken } from '../api';
import { ErrorBox, Field, Status, When, useAction, useLoad } from '../ui';

export function ScimScreen() {
  const { data, error, reload } = useLoad(() => get<{ tokens: ScimToken[] }>('/v1/admin/scim/tokens'));
  const action = useAction();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ token: string; scim_base_url: string } | null>(null);
  return (
    <section aria-labelledby="scim-h">
      <h1 id="scim-h">{t('section.scim')}</h1>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      <table class="admin-table" aria-labelledby="scim-h">
        <thead>
          <tr>
            <th scope="col">{t('scim.name')}</th>
            <th scope="col">{t('scim.created')}</th>
            <th scope="col">{t('scim.by')}</th>
            <th scope="col">{t('scim.state')}</th>
            <th scope="col"><span class="visually-hidden">{t('scim.revoke')}</span></th>
          </tr>
        </thead>
        <tbody>
          {(data?.tokens ?? []).map((tok) => (
            <tr key={tok.id}>
              <td>{tok.name}</td>
              <td><When ms={tok.created_at} /></td>
              <td>{tok.created_by}</td>
              <td>{tok.revoked ? t('scim.revoked') : t('scim.active')}</td>
              <td>
                {!tok.revoked && (
                  <button type="button" class="danger" onClick={async () => {
                    if (await action.run(() => del(`/v1/admin/scim/tokens/${seg(tok.id)}`))) reload();
                  }}>{t('scim.revoke')}<span class="visually-hidden"> {tok.name}</span></button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="admin-form" onSubmit={async (e) => {
        e.preventDefault();
        setCreated(null);
        let result: { token: string; scim_base_url: string } | null = null;
        if (await action.run(async () => {
          result = await post<{ token: string; scim_base_url: string }>('/v1/admin/scim/tokens', { name: name.trim() });
        })) {
          setCreated(result);
          setName('');
          reload();
        }
      }}>
        <Field id="scim-name" label={t('scim.name')}>
          <input id="scim-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary" disabled={action.busy}>{t('scim.create')}</button>
      </form>
      {created && (
        <div class="admin-panel">
          <p>{t('scim.token.once')}</p>
          <p><code class="secret">{created.token}</code></p>
          <p>{t('scim.base.url')}: <code>{created.scim_base_url}</code></p>
        </div>
      )}
    </section>
  );
}
