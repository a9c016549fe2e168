// My sessions (GET /v1/sessions) with revoke (DELETE /v1/sessions/{id}); revoking this browser's own session signs out.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../shared/api';
import { formatDateTime } from '../shared/format';
import { t } from '../shared/i18n';
import { errorText, type ClientStore } from './store';

export function SessionsView({ store }: { store: ClientStore }) {
  const [sessions, setSessions] = useState<api.SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const load = async () => {
    try {
      setSessions(await api.listSessions(store.auth.token));
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => void load(), []);
  const revoke = async (s: api.SessionInfo) => {
    try {
      await api.revokeSession(store.auth.token, s.session_id);
      if (s.current) {
        await store.logout();
        return;
      }
      setStatus(t('sessions.revoked'));
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section class="page" aria-labelledby="sessions-title">
      <h2 id="sessions-title">{t('sessions.title')}</h2>
      {error && <p role="alert" class="error">{error}</p>}
      <p role="status" class="visually-hidden">{status ?? ''}</p>
      {sessions && (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('sessions.device')}</th>
              <th scope="col">{t('sessions.created')}</th>
              <th scope="col">{t('sessions.lastSeen')}</th>
              <th scope="col">{t('sessions.address')}</th>
              <th scope="col"><span class="visually-hidden">{t('sessions.revoke')}</span></th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.session_id}>
                <td>{s.device_name ?? '—'} {s.current && <strong>({t('sessions.current')})</strong>}</td>
                <td>{formatDateTime(s.created_at)}</td>
                <td>{s.last_seen_at ? formatDateTime(s.last_seen_at) : '—'}</td>
                <td>{s.last_address ?? '—'}</td>
                <td>
                  <button onClick={() => void revoke(s)} aria-label={t('sessions.revokeLabel', { device: s.device_name ?? s.session_id })}>
                    {t('sessions.revoke')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
