// The moderation queue (issue 7a): reported messages, newest first, with the reported message itself; moderators
// dismiss a report or redact the message (which resolves the report).
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { get, post, query } from '../api';
import { ErrorBox, Field, Status, When, useAction, useLoad } from '../ui';

interface Report {
  report_id: number;
  room_id: string;
  event_id: string;
  sender: string;
  reporter: string;
  reason: string;
  created_at: number;
  status: string;
  resolution: string | null;
  resolved_by: string | null;
  note: string | null;
  event: { content?: { body?: string } } | null;
}

export function ModerationScreen() {
  const [status, setStatus] = useState('open');
  const { data, error, reload } = useLoad(() => get<{ reports: Report[]; next: number | null }>(`/v1/admin/moderation/reports${query({ status })}`), [status]);
  const action = useAction();
  const resolve = (id: number, verb: 'dismiss' | 'redact') => async () => {
    if (await action.run(() => post(`/v1/admin/moderation/reports/${id}/resolve`, { action: verb }))) reload();
  };
  return (
    <section aria-labelledby="moderation-h">
      <h1 id="moderation-h">{t('section.moderation')}</h1>
      <form class="admin-filters" onSubmit={(e) => e.preventDefault()}>
        <Field id="moderation-status" label={t('users.status')}>
          <select id="moderation-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="open">{t('moderation.open')}</option>
            <option value="resolved">{t('moderation.resolved')}</option>
          </select>
        </Field>
      </form>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      <table class="admin-table" aria-labelledby="moderation-h">
        <thead>
          <tr>
            <th scope="col">{t('moderation.message')}</th>
            <th scope="col">{t('moderation.sender')}</th>
            <th scope="col">{t('moderation.reason')}</th>
            <th scope="col">{t('audit.time')}</th>
            <th scope="col"><span class="visually-hidden">{t('moderation.decide')}</span></th>
          </tr>
        </thead>
        <tbody>
          {(data?.reports ?? []).map((r) => (
            <tr key={r.report_id}>
              <td>{r.event?.content?.body ?? <span class="muted">{r.event_id}</span>}<br /><small class="muted">{r.room_id}</small></td>
              <td>{r.sender}</td>
              <td>{r.reason}<br /><small class="muted">{r.reporter}</small></td>
              <td><When ms={r.created_at} /></td>
              <td>
                {r.status === 'open' ? (
                  <>
                    <button type="button" onClick={resolve(r.report_id, 'dismiss')}>{t('moderation.dismiss')}<span class="visually-hidden"> #{r.report_id}</span></button>{' '}
                    <button type="button" class="danger" onClick={resolve(r.report_id, 'redact')}>{t('moderation.redact')}<span class="visually-hidden"> #{r.report_id}</span></button>
                  </>
                ) : `${r.resolution ?? ''} ${r.resolved_by ?? ''}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
