// The thread panel: a root message and its replies (thread relations, §15.7), with its own composer. Replies are
// the room's events with rel.type "thread": the room's timeline holds them all from the root on.
import { useState } from 'preact/hooks';
import { formatTime, isoTime } from '../shared/format';
import { t } from '../shared/i18n';
import { aggregate, displayBody, idOf } from './relations';
import { isSendKey } from './Composer';
import { errorText, type ClientStore, type RoomSummary } from './store';

export function ThreadPanel({ store, room }: { store: ClientStore; room: RoomSummary }) {
  const open = store.thread.value;
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!open || open.room !== room.room_id) return null;
  const all = store.timeline(room.room_id).events.value;
  const agg = aggregate(all, store.userId);
  const root = open.root;
  const replies = agg.threads.get(idOf(root)) ?? [];
  const send = () => {
    const body = text.trim();
    if (!body) return;
    setText('');
    store.reply(room.room_id, root.id, body).then(() => setError(null), (err) => setError(errorText(err)));
  };
  return (
    <aside class="thread-panel" aria-label={t('thread.title')}>
      <header class="row">
        <h3>{t('thread.title')}</h3>
        <button onClick={() => (store.thread.value = null)}>{t('action.close')}</button>
      </header>
      <div class="thread-root">
        <span class="sender">{store.displayName(root.sender)}</span>{' '}
        <time aria-hidden="true" dateTime={isoTime(root.ts)}>{formatTime(root.ts)}</time>
        <div class="body" dir="auto">{displayBody(agg, root) ?? t('timeline.redacted')}</div>
      </div>
      <div role="log" aria-label={t('thread.replies')}>
      <ol class="messages">
        {replies.map((r) => (
          <li key={String(r.seq)} class="event message">
            <span class="sender">{store.displayName(r.sender)}</span>{' '}
            <time aria-hidden="true" dateTime={isoTime(r.ts)}>{formatTime(r.ts)}</time>
            <div class="body" dir="auto">{displayBody(agg, r) ?? t('timeline.redacted')}</div>
          </li>
        ))}
      </ol>
      </div>
      {!room.archived && (
        <form class="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
          <label class="visually-hidden" for="thread-composer">{t('thread.reply')}</label>
          <textarea id="thread-composer" rows={2} dir="auto" placeholder={t('thread.reply')} value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => { if (isSendKey(e)) { e.preventDefault(); send(); } }} />
          <button class="primary" type="submit">{t('composer.send')}</button>
        </form>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </aside>
  );
}

export function PinnedBar({ store, room }: { store: ClientStore; room: RoomSummary }) {
  const settings = store.settings.value.get(room.room_id);
  const all = store.timeline(room.room_id).events.value;
  const agg = aggregate(all, store.userId);
  const pins = agg.pins ?? (settings?.pins ?? []).map((p) => idOf({ id: p } as never));
  if (!pins.length) return null;
  return (
    <section class="pinned" aria-label={t('pins.title')}>
      <strong>📌 {t('pins.title')}:</strong>
      <ul>
        {pins.map((id) => {
          const ev = agg.byId.get(id);
          const body = ev ? displayBody(agg, ev) : null;
          return <li key={id} dir="auto">{body ?? t('pins.unloaded')}</li>;
        })}
      </ul>
    </section>
  );
}
