// The client's shell: sign-in or setup page, else the header, the room list and the current view, with the
// connection banner.
import { useState } from 'preact/hooks';
import { t } from '../shared/i18n';
import { session } from '../shared/session';
import { CreateRoomView } from './CreateRoom';
import { DirectoryView } from './Directory';
import { RoomList } from './RoomList';
import { RoomView } from './RoomView';
import { SessionsView } from './Sessions';
import { SettingsView } from './Settings';
import { AlertBanner, IncidentView } from './Attention';
import { SetupPage, SignIn } from './SignIn';
import { store as storeSignal, type ClientStore, type View } from './store';

export function App() {
  const [path, setPath] = useState(location.pathname);
  if (path === '/setup') {
    return <SetupPage onDone={() => setPath('/')} />;
  }
  const s = storeSignal.value;
  if (!session.value || !s) return <SignIn />;
  return <Shell store={s} />;
}

function Shell({ store }: { store: ClientStore }) {
  const view = store.view.value;
  const roomId = store.selectedRoom.value;
  const room = roomId ? store.rooms.value.get(roomId) : undefined;
  const go = (v: View) => (store.view.value = v);
  const navButton = (v: View, key: string) => (
    <button class={view === v ? 'selected' : ''} aria-current={view === v ? 'page' : undefined} onClick={() => go(v)}>{t(key)}</button>
  );
  return (
    <div class="shell">
      {store.connection.showBanner.value && (
        <div class="banner" role="alert">
          <span>{t('banner.offline')}</span>{' '}
          <button onClick={() => store.connection.reconnectNow()}>{t('banner.retry')}</button>
        </div>
      )}
      <AlertBanner store={store} />
      <header class="top">
        <h1 class="brand">{t('app.name')}</h1>
        <nav class="main-nav" aria-label={t('nav.main')}>
          {navButton('directory', 'nav.directory')}
          {navButton('create-room', 'nav.create')}
          {navButton('incident', 'nav.incident')}
          {navButton('sessions', 'nav.sessions')}
          {navButton('settings', 'nav.settings')}
          <button onClick={() => void store.logout()}>{t('nav.logout')}</button>
        </nav>
        <span class="me" dir="auto">{store.me.value?.display_name ?? store.userId}</span>
      </header>
      {store.notice.value && (
        <div class="notice" role="status">
          {store.notice.value} <button class="link" onClick={() => (store.notice.value = null)}>{t('action.close')}</button>
        </div>
      )}
      <div class="columns">
        <RoomList store={store} />
        <main class="content">
          {view === 'directory' && <DirectoryView store={store} />}
          {view === 'create-room' && <CreateRoomView store={store} />}
          {view === 'sessions' && <SessionsView store={store} />}
          {view === 'settings' && <SettingsView store={store} />}
          {view === 'incident' && <IncidentView store={store} />}
          {view === 'room' && (room ? <RoomView key={room.room_id} store={store} room={room} /> : <p class="empty">{t('room.none')}</p>)}
        </main>
      </div>
    </div>
  );
}
