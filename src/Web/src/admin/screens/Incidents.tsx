// The HR incident inbox (issue 7b): incident reports the signed-in responder may see (the server decides: the
// incident roles of the workplace policy). Each incident is a private room; the conversation happens in the client.
// Security officers may unseal an anonymous reporter, which the server audits.
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { get, seg } from '../api';
import { ErrorBox, Status, When, useAction, useLoad } from '../ui';

interface Incident {
  incident_id: string;
  kind: string;
  room_id: string;
  created_at: number;
  anonymous: boolean;
  reporter: string | null;
}

export function IncidentsScreen({ canUnseal }: { canUnseal: boolean }) {
  const { data, error } = useLoad(() => get<Incident[] | { incidents: Incident[] }>('/v1/incidents'));
  const action = useAction();
  const [sealed, setSealed] = useState<Record<string, string>>({});
  const incidents = Array.isArray(data) ? data : data?.incidents ?? [];
  return (
    <section aria-labelledby="incidents-h">
      <h1 id="incidents-h">{t('section.incidents')}</h1>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      <table class="admin-table" aria-labelledby="incidents-h">
        <thead>
          <tr>
            <th scope="col">{t('incidents.kind')}</th>
            <th scope="col">{t('incidents.reporter')}</th>
            <th scope="col">{t('audit.time')}</th>
            <th scope="col">{t('incidents.room')}</th>
          </tr>
        </thead>
        <tbody>
          {incidents.map((i) => (
            <tr key={i.incident_id}>
              <td>{i.kind}</td>
              <td>
                {i.anonymous ? t('incidents.anonymous') : i.reporter}
                {i.anonymous && canUnseal && !sealed[i.incident_id] && (
                  <>{' '}<button type="button" onClick={() => void action.run(async () => {
                    const r = await get<{ sealed_reporter: string | null }>(`/v1/admin/incidents/${seg(i.incident_id)}/sealed`);
                    setSealed((s) => ({ ...s, [i.incident_id]: r.sealed_reporter ?? '' }));
                  })}>{t('incidents.unseal')}<span class="visually-hidden"> {i.incident_id}</span></button></>
                )}
                {sealed[i.incident_id] && <> · <code>{sealed[i.incident_id]}</code></>}
              </td>
              <td><When ms={i.created_at} /></td>
              <td><a href={`/#room=${encodeURIComponent(i.room_id)}`}>{t('incidents.open')}</a></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
