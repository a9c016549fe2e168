// The composer. Enter sends, Shift+Enter is a new line, and an Enter that belongs to an input method (Thai, Japanese…:
// isComposing set, or keyCode 229) never sends half-composed text.
import { useState } from 'preact/hooks';
import { t } from '../shared/i18n';
import type { ClientStore, RoomSummary } from './store';

/** True when this keydown should send the message. */
export function isSendKey(e: Pick<KeyboardEvent, 'key' | 'shiftKey' | 'isComposing' | 'keyCode' | 'altKey' | 'ctrlKey' | 'metaKey'>): boolean {
  if (e.key !== 'Enter' || e.shiftKey || e.altKey) return false;
  if (e.isComposing || e.keyCode === 229) return false;
  return true;
}

export function Composer({ store, room }: { store: ClientStore; room: RoomSummary }) {
  const [text, setText] = useState('');
  const send = () => {
    const body = text.trim();
    if (!body) return;
    setText('');
    void store.sendMessage(room.room_id, body);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !isSendKey(e)) return; // composing or Shift+Enter: leave it to the textarea/IME
    if (isSendKey(e)) {
      e.preventDefault();
      send();
    }
  };
  const id = `composer-${room.room_id}`;
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <label for={id} class="visually-hidden">{t('composer.label', { room: store.roomLabel(room) })}</label>
      <textarea
        id={id}
        rows={2}
        dir="auto"
        placeholder={t('composer.placeholder')}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={onKeyDown}
      />
      <button class="primary" type="submit">{t('composer.send')}</button>
    </form>
  );
}
