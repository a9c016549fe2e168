// Two-person approvals (issue 5b): changes to who receives backups (company recipients) and exports (an officer's
// export recipient) wait for a second person. Security officers see every request and decide others' requests;
// requesters cancel their own. The server enforces who may do what.
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { get, post, query, seg } from '../api';
import { ErrorBox, Field, Status, useAction, useLoad } from '../ui';

interface ApprovalRequest {
  id: number;
  kind: string;
  status: string;
  requested_by: string;
  requested_at: string;
  expires_at: string;
  note: string | null;
  decided_by: string | null;
  reason: string | null;
  subject?: string | null;
  recipient_key_id?: string | null;
  escrow_key_id?: string | null;
  recovery_key_id?: string | null;
}

export function ApprovalsScreen({ userId }: { userId: string }) {
  const [status, setStatus] = useState('pending');
  const { data, error, reload } = useLoad(() => get<{ requests: ApprovalRequest[] }>(`/v1/approvals${query({ status: status === 'all' ? undefined : status })}`), [status]);
  const action = useAction();
  const decide = (id: number, verb: 'approve' | 'reject' | 'cancel') => async () => {
    if (await action.run(() => post(`/v1/approvals/${seg(String(id))}/${verb}`, {}))) reload();
  };
  return (
    <section aria-labelledby="approvals-h">
      <h1 id="approvals-h">{t('section.approvals')}</h1>
      <form class="admin-filters" onSubmit={(e) => e.preventDefault()}>
        <Field id="approvals-status" label={t('users.status')}>
          <select id="approvals-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            {['pending', 'approved', 'rejected', 'cancelled', 'expired', 'superseded', 'all'].map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </Field>
      </form>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      <table class="admin-table" aria-labelledby="approvals-h">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t('approvals.kind')}</th>
            <th scope="col">{t('approvals.change')}</th>
            <th scope="col">{t('approvals.requested')}</th>
            <th scope="col">{t('users.status')}</th>
            <th scope="col"><span class="visually-hidden">{t('approvals.decide')}</span></th>
          </tr>
        </thead>
        <tbody>
          {(data?.requests ?? []).map((r) => (
            <tr key={r.id}>
              <td>{r.id}</td>
              <td>{r.kind}</td>
              <td>{r.subject ? `${r.subject}: ` : ''}{r.recipient_key_id ?? [r.escrow_key_id, r.recovery_key_id].filter(Boolean).join(' + ')}{r.note ? ` · ${r.note}` : ''}</td>
              <td>{r.requested_by}<br /><small class="muted">{r.requested_at}</small></td>
              <td>{r.status}{r.decided_by ? ` (${r.decided_by})` : ''}</td>
              <td>
                {r.status === 'pending' && r.requested_by !== userId && (
                  <>
                    <button type="button" class="primary" onClick={decide(r.id, 'approve')}>{t('approvals.approve')}<span class="visually-hidden"> #{r.id}</span></button>{' '}
                    <button type="button" class="danger" onClick={decide(r.id, 'reject')}>{t('approvals.reject')}<span class="visually-hidden"> #{r.id}</span></button>
                  </>
                )}
                {r.status === 'pending' && r.requested_by === userId && (
                  <button type="button" onClick={decide(r.id, 'cancel')}>{t('approvals.cancel')}<span class="visually-hidden"> #{r.id}</span></button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
