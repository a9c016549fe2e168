// Server figures (GET /v1/admin/figures): connections, rooms, users, message rate, queues and evictions, storage,
// uptime, backups and escrow. Key ids and counts only: the server never sends a secret here. Refreshed on demand
// and every 10 seconds while the screen is open.
import { useEffect } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { get, type Figures } from '../api';
import { formatBytes, formatDuration } from '../format';
import { ErrorBox, When, useLoad } from '../ui';

const REFRESH_MS = 10_000;

export function FiguresScreen() {
  const { data: f, error, reload } = useLoad(() => get<Figures>('/v1/admin/figures'));
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const nf = (n: number) => n.toLocaleString();
  return (
    <section aria-labelledby="figures-h">
      <h1 id="figures-h">{t('section.figures')}</h1>
      <button type="button" onClick={reload}>{t('admin.refresh')}</button>
      <ErrorBox error={error} />
      {f && (
        <dl class="admin-figures">
          <dt>{t('figures.uptime')}</dt><dd>{formatDuration(f.uptime_seconds)}</dd>
          <dt>{t('figures.connections')}</dt><dd>{nf(f.connections)}</dd>
          <dt>{t('figures.rooms')}</dt><dd>{nf(f.rooms.total)} ({nf(f.rooms.archived)})</dd>
          <dt>{t('figures.users')}</dt><dd>{nf(f.users.active)} / {nf(f.users.deactivated)}</dd>
          <dt>{t('figures.messages')}</dt><dd>{f.messages.per_second.toFixed(2)}</dd>
          <dt>{t('figures.messages.total')}</dt><dd>{nf(f.messages.total)}</dd>
          <dt>{t('figures.queued')}</dt><dd>{formatBytes(f.queues.queued_bytes)} ({formatBytes(f.queues.largest_queue_bytes)})</dd>
          <dt>{t('figures.evictions')}</dt><dd>{nf(f.queues.evictions)}</dd>
          <dt>{t('figures.storage')}</dt><dd>{formatBytes(f.storage.database_bytes)}</dd>
          <dt>{t('figures.attachments')}</dt><dd>{formatBytes(f.storage.attachments_bytes)}</dd>
          <dt>{t('figures.free')}</dt><dd>{formatBytes(f.storage.free_bytes)}</dd>
          <dt>{t('figures.backups')}</dt><dd>{nf(f.backups.count)} · {formatBytes(f.backups.total_bytes)}</dd>
          <dt>{t('figures.backup.last')}</dt>
          <dd>{f.backups.last ? <><When ms={f.backups.last.created_at} /> · {f.backups.last.file} · {formatBytes(f.backups.last.size)}</> : t('figures.backup.none')}</dd>
          <dt>{t('figures.escrow')}</dt>
          <dd>{f.escrow.configured ? t('figures.escrow.ok', { n: f.escrow.recipients.length, ids: f.escrow.recipients.join(', ') }) : t('figures.escrow.missing')}</dd>
          <dt>{t('figures.kek')}</dt>
          <dd>{f.escrow.kek_id ? `${f.escrow.kek_id} (${f.escrow.kek_source})${f.escrow.kek_rotation_pending ? ` · ${t('figures.kek.pending')}` : ''}` : '–'}</dd>
        </dl>
      )}
    </section>
  );
}
