// The room list: a navigation landmark with one list item per room, unread counts from the server, arrow-key
// navigation (roving focus: Up/Down/Home/End), invitations first.
import { useEffect } from 'preact/hooks';
import { formatTime } from '../shared/format';
import { t } from '../shared/i18n';
import { unreadLabel } from '../shared/format';
import type { ClientStore, RoomSummary } from './store';

export function RoomList({ store }: { store: ClientStore }) {
  const rooms = store.sortedRooms.value;
  const selected = store.selectedRoom.value;
  const onKeyDown = (e: KeyboardEvent) => {
    if (!['ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key)) return;
    const buttons = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLButtonElement>('button.room')];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    let next = i;
    if (e.key === 'ArrowUp') next = Math.max(0, i - 1);
    else if (e.key === 'ArrowDown') next = Math.min(buttons.length - 1, i + 1);
    else if (e.key === 'Home') next = 0;
    else next = buttons.length - 1;
    e.preventDefault();
    buttons[next]?.focus();
  };
  const focusIndex = Math.max(0, rooms.findIndex((r) => r.room_id === selected));
  const loaded = store.roomsLoaded.value;
  useEffect(() => {
    // For docs/benchmarks.md: when the server's room list is first on screen and clickable.
    if (loaded && performance.getEntriesByName('teamcomms:room-list').length === 0) performance.mark('teamcomms:room-list');
  }, [loaded]);
  return (
    <nav class="room-list" aria-label={t('nav.rooms')}>
      <h2 class="visually-hidden">{t('nav.rooms')}</h2>
      {!store.roomsLoaded.value && rooms.length === 0 && <p role="status">{t('rooms.loading')}</p>}
      {store.roomsLoaded.value && rooms.length === 0 && <p>{t('rooms.empty')}</p>}
      <ul onKeyDown={onKeyDown}>
        {rooms.map((r, i) => (
          <RoomItem key={r.room_id} store={store} room={r} selected={r.room_id === selected} tabbable={i === focusIndex} />
        ))}
      </ul>
    </nav>
  );
}

function RoomItem({ store, room: r, selected, tabbable }: { store: ClientStore; room: RoomSummary; selected: boolean; tabbable: boolean }) {
  const name = store.roomLabel(r);
  const invited = r.membership === 'invite';
  const unread = r.membership === 'join' ? r.unread : 0;
  // The accessible name says the unread count in words; the badge is for the eye.
  const label = [name, invited ? t('rooms.invited') : '', unread > 0 ? t('rooms.unread', { n: unread }) : '', r.archived ? t('rooms.archived') : '']
    .filter(Boolean).join(', ');
  return (
    <li>
      <button
        class={`room${selected ? ' selected' : ''}${unread > 0 ? ' has-unread' : ''}`}
        aria-current={selected ? 'page' : undefined}
        aria-label={label}
        tabIndex={tabbable ? 0 : -1}
        data-room={r.room_id}
        onClick={() => store.openRoom(r.room_id)}
      >
        <span class="room-name" dir="auto">{r.kind === 'direct' ? '@ ' : '# '}{name}</span>
        {invited && <span class="tag">{t('rooms.invited')}</span>}
        {unread > 0 && <span class="badge" aria-hidden="true">{unreadLabel(unread)}</span>}
        {!unread && !invited && r.head_ts > 0n && <span class="when" aria-hidden="true">{formatTime(r.head_ts)}</span>}
      </button>
    </li>
  );
}
