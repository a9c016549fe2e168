// The composer. Enter sends, Shift+Enter is a new line, and an Enter that belongs to an input method (Thai, Japanese…:
// isComposing set, or keyCode 229) never sends half-composed text.
import { useRef, useState } from 'preact/hooks';
import { t } from '../shared/i18n';
import { errorText, type ClientStore, type RoomSummary } from './store';
import { UrgentForm } from './Attention';

/** True when this keydown should send the message. */
export function isSendKey(e: Pick<KeyboardEvent, 'key' | 'shiftKey' | 'isComposing' | 'keyCode' | 'altKey' | 'ctrlKey' | 'metaKey'>): boolean {
  if (e.key !== 'Enter' || e.shiftKey || e.altKey) return false;
  if (e.isComposing || e.keyCode === 229) return false;
  return true;
}

export function Composer({ store, room }: { store: ClientStore; room: RoomSummary }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [uploading, setUploading] = useState(0);
  const [pollOpen, setPollOpen] = useState(false);
  const [urgentOpen, setUrgentOpen] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
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
  // Files by picker, paste or drag and drop: uploaded, then posted in a message each.
  const sendFiles = async (files: File[]) => {
    if (!files.length) return;
    setError(null);
    setUploading((n) => n + files.length);
    for (const f of files) {
      try {
        await store.sendFile(room.room_id, f);
      } catch (err) {
        setError(errorText(err));
      } finally {
        setUploading((n) => n - 1);
      }
    }
  };
  const onPaste = (e: ClipboardEvent) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length) {
      e.preventDefault();
      void sendFiles(files);
    }
  };
  const onDrop = (e: DragEvent) => {
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) {
      e.preventDefault();
      void sendFiles(files);
    }
  };
  const id = `composer-${room.room_id}`;
  return (
    <div class="composer-wrap" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      {pollOpen && <PollForm store={store} room={room} onDone={() => setPollOpen(false)} />}
      {urgentOpen && <UrgentForm store={store} room={room} onDone={() => setUrgentOpen(false)} />}
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
          onPaste={onPaste}
        />
        <input ref={fileInput} type="file" multiple class="visually-hidden" tabIndex={-1} aria-hidden="true"
          onChange={(e) => { void sendFiles([...(e.currentTarget.files ?? [])]); e.currentTarget.value = ''; }} />
        <button type="button" onClick={() => fileInput.current?.click()} aria-label={t('composer.attach')}>📎</button>
        <button type="button" onClick={() => setPollOpen(!pollOpen)} aria-expanded={pollOpen} aria-label={t('poll.create')}>📊</button>
        <button type="button" onClick={() => setUrgentOpen(!urgentOpen)} aria-expanded={urgentOpen} aria-label={t('urgent.title')}>❗</button>
        <button class="primary" type="submit">{t('composer.send')}</button>
      </form>
      {uploading > 0 && <p role="status" class="muted">{t('file.uploading', { n: uploading })}</p>}
      {error && <p role="alert" class="error">{error}</p>}
    </div>
  );
}

function PollForm({ store, room, onDone }: { store: ClientStore; room: RoomSummary; onDone: () => void }) {
  const [question, setQuestion] = useState('');
  const [options, setOptions] = useState('');
  const [multiple, setMultiple] = useState(false);
  const [anonymous, setAnonymous] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const opts = options.split('\n').map((o) => o.trim()).filter(Boolean);
    try {
      await store.sendPoll(room.room_id, question.trim(), opts, multiple, anonymous);
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form class="form poll-form" onSubmit={submit} aria-label={t('poll.create')}>
      <label>{t('poll.question')}<input value={question} onInput={(e) => setQuestion(e.currentTarget.value)} required dir="auto" /></label>
      <label>{t('poll.options')}<textarea rows={3} value={options} onInput={(e) => setOptions(e.currentTarget.value)} required dir="auto" /></label>
      <label class="check"><input type="checkbox" checked={multiple} onChange={(e) => setMultiple(e.currentTarget.checked)} />{t('poll.multiple')}</label>
      <label class="check"><input type="checkbox" checked={anonymous} onChange={(e) => setAnonymous(e.currentTarget.checked)} />{t('poll.anonymous')}</label>
      <div class="row">
        <button class="primary" type="submit">{t('poll.post')}</button>
        <button type="button" onClick={onDone}>{t('action.cancel')}</button>
      </div>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}
