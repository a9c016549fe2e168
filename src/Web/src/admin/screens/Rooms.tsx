// Rooms: the company's rooms (GET /v1/admin/rooms), filtered by name and archived state; archive and unarchive.
import { useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { get, post, query, seg, type RoomRow } from '../api';
import { ErrorBox, Field, Status, useAction, useLoad } from '../ui';

export function RoomsScreen() {
  const [show, setShow] = useState<'active' | 'archived' | 'all'>('active');
  const [filter, setFilter] = useState('');
  const { data, error, reload } = useLoad(() => get<{ rooms: RoomRow[] }>(`/v1/admin/rooms${query({ archived: show === 'all' ? undefined : show === 'archived' })}`), [show]);
  const action = useAction();
  const needle = filter.trim().toLowerCase();
  const rooms = (data?.rooms ?? []).filter((r) => !needle || r.name.toLowerCase().includes(needle) || r.room_id.toLowerCase().includes(needle));
  return (
    <section aria-labelledby="rooms-h">
      <h1 id="rooms-h">{t('section.rooms')}</h1>
      <form class="admin-filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field id="rooms-filter" label={t('rooms.filter')}>
          <input id="rooms-filter" type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        </Field>
        <Field id="rooms-show" label={t('rooms.show.archived')}>
          <select id="rooms-show" value={show} onChange={(e) => setShow(e.currentTarget.value as typeof show)}>
            <option value="active">{t('rooms.active')}</option>
            <option value="archived">{t('rooms.archived')}</option>
            <option value="all">{t('rooms.all')}</option>
          </select>
        </Field>
      </form>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      <table class="admin-table" aria-labelledby="rooms-h">
        <thead>
          <tr>
            <th scope="col">{t('rooms.name')}</th>
            <th scope="col">{t('rooms.kind')}</th>
            <th scope="col">{t('rooms.rules')}</th>
            <th scope="col"><span class="visually-hidden">{t('rooms.archive')}</span></th>
          </tr>
        </thead>
        <tbody>
          {rooms.map((r) => (
            <tr key={r.room_id}>
              <td>{r.name || r.room_id}<br /><small class="muted">{r.room_id}</small></td>
              <td>{r.kind}</td>
              <td>{r.rules.filter(Boolean).join(', ')}</td>
              <td>
                <button type="button" disabled={action.busy} onClick={async () => {
                  if (await action.run(() => post(`/v1/admin/rooms/${seg(r.room_id)}/${r.archived ? 'unarchive' : 'archive'}`))) reload();
                }}>{r.archived ? t('rooms.unarchive') : t('rooms.archive')}<span class="visually-hidden"> {r.name}</span></button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
