// One room: its header (name, topic, actions), the timeline and the composer, or the invitation.
import { useState } from 'preact/hooks';
import { t } from '../shared/i18n';
import { Composer } from './Composer';
import { errorText, type ClientStore, type RoomSummary } from './store';
import { TimelineView } from './TimelineView';
import { PinnedBar, ThreadPanel } from './ThreadPanel';

const rank: Record<string, number> = { member: 0, poster: 1, moderator: 2, owner: 3 };

export function RoomView({ store, room }: { store: ClientStore; room: RoomSummary }) {
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [inviting, setInviting] = useState(false);
  const [who, setWho] = useState('');
  const act = async (fn: () => Promise<void>, done?: string) => {
    setError(null);
    try {
      await fn();
      if (done) setStatus(done);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const name = store.roomLabel(room);
  if (room.membership === 'invite') {
    return (
      <section class="room" aria-labelledby="room-title">
        <header class="room-header"><h2 id="room-title" dir="auto">{name}</h2></header>
        <div class="invite-card">
          <p>{t('room.invitedTo')}</p>
          <button class="primary" onClick={() => void act(() => store.join(room.room_id))}>{t('room.join')}</button>{' '}
          <button onClick={() => void act(() => store.leave(room.room_id))}>{t('room.decline')}</button>
          {error && <p role="alert" class="error">{error}</p>}
        </div>
      </section>
    );
  }
  const timeline = store.timeline(room.room_id);
  const role = rank[room.role] ?? 0;
  const canInvite = !room.archived && room.kind !== 'direct';
  const canArchive = room.role === 'owner';
  const postingRole = store.settings.value.get(room.room_id)?.postingRole ?? (room.kind === 'announcement' ? 'poster' : 'member');
  const readOnly = role < (rank[postingRole] ?? 0);
  return (
    <section class="room" aria-labelledby="room-title">
      <header class="room-header">
        <div class="room-title">
          <h2 id="room-title" dir="auto">{name}</h2>
          {room.topic && <p class="topic" dir="auto">{room.topic}</p>}
          <span class="muted">{t('room.members', { n: room.joined_count })}</span>
        </div>
        <div class="room-actions">
          {canInvite && <button onClick={() => setInviting(!inviting)} aria-expanded={inviting}>{t('room.invite')}</button>}
          {canArchive && (
            <button onClick={() => void act(() => store.archive(room.room_id, !room.archived))}>
              {room.archived ? t('room.unarchive') : t('room.archive')}
            </button>
          )}
          <button onClick={() => void act(() => store.leave(room.room_id))}>{t('room.leave')}</button>
        </div>
      </header>
      {inviting && (
        <form class="row invite-form" onSubmit={(e) => {
          e.preventDefault();
          const user = who;
          void act(async () => {
            await store.invite(room.room_id, user);
            setWho('');
            setInviting(false);
          }, t('room.invited', { user }));
        }}>
          <label>
            {t('room.inviteWho')}
            <input value={who} onInput={(e) => setWho(e.currentTarget.value)} required />
          </label>
          <button class="primary" type="submit">{t('room.invite')}</button>
        </form>
      )}
      {error && <p role="alert" class="error">{error}</p>}
      <p role="status" class="visually-hidden">{status ?? ''}</p>
      <PinnedBar store={store} room={room} />
      <div class="room-body">
        <div class="room-main">
          <TimelineView store={store} room={room} timeline={timeline} />
          {room.archived ? (
            <p class="notice">{t('room.archivedNotice')}</p>
          ) : readOnly ? (
            <p class="notice">{t('room.readOnly')}</p>
          ) : (
            <Composer store={store} room={room} />
          )}
        </div>
        <ThreadPanel store={store} room={room} />
      </div>
    </section>
  );
}
