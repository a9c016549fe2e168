// Create a room (rooms.create): name, topic, kind (group or announcement), people to invite.
import { useState } from 'preact/hooks';
import { t } from '../shared/i18n';
import { errorText, type ClientStore } from './store';

export function CreateRoomView({ store }: { store: ClientStore }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [kind, setKind] = useState('group');
  const [invite, setInvite] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const users = invite.split(/[,\s]+/).filter(Boolean).map((u) => store.qualify(u));
      await store.createRoom({ name: name.trim(), topic: topic.trim(), kind, invite: users });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="page" aria-labelledby="create-title">
      <h2 id="create-title">{t('create.title')}</h2>
      <form class="form" onSubmit={submit}>
        <label>{t('create.name')}<input value={name} onInput={(e) => setName(e.currentTarget.value)} required dir="auto" /></label>
        <label>{t('create.topic')}<input value={topic} onInput={(e) => setTopic(e.currentTarget.value)} dir="auto" /></label>
        <label>
          {t('create.kind')}
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="group">{t('create.kind.group')}</option>
            <option value="announcement">{t('create.kind.announcement')}</option>
          </select>
        </label>
        <label>{t('create.invite')}<input value={invite} onInput={(e) => setInvite(e.currentTarget.value)} /></label>
        {error && <p role="alert" class="error">{error}</p>}
        <button class="primary" type="submit" disabled={busy}>{t('create.submit')}</button>
      </form>
    </section>
  );
}
