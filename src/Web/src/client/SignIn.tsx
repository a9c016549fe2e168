// The sign-in screen and the setup-link page (/setup#token=…: the token is in the fragment, never sent to a server log).
import { useState } from 'preact/hooks';
import * as api from '../shared/api';
import { t } from '../shared/i18n';
import { errorText, signedOutReason, signIn } from './store';
import { Preferences } from './Settings';

export function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <main class="center-page">
      <form class="card" onSubmit={submit}>
        <h1>{t('app.name')}</h1>
        <h2>{t('signin.title')}</h2>
        {signedOutReason.value && <p role="status" class="notice">{t('signin.ended', { reason: signedOutReason.value })}</p>}
        <label>
          {t('signin.username')}
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
        </label>
        <label>
          {t('signin.password')}
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        {error && <p role="alert" class="error">{error}</p>}
        <button class="primary" type="submit" disabled={busy}>{busy ? t('signin.busy') : t('signin.submit')}</button>
        <Preferences compact />
      </form>
    </main>
  );
}

/** Reads the setup token from the fragment (#token=…). */
export function setupTokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  return params.get('token');
}

export function SetupPage({ onDone }: { onDone: () => void }) {
  const [token] = useState(() => setupTokenFromHash(location.hash));
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!token) {
    return <main class="center-page"><div class="card"><h1>{t('setup.title')}</h1><p role="alert" class="error">{t('setup.missing')}</p></div></main>;
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    if (password !== confirm) {
      setError(t('setup.mismatch'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.setupPassword(token, password);
      // Drop the token from the address bar and history.
      history.replaceState(null, '', '/');
      setDone(true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  if (done) {
    return (
      <main class="center-page">
        <div class="card">
          <h1>{t('setup.title')}</h1>
          <p role="status">{t('setup.done')}</p>
          <button class="primary" onClick={onDone}>{t('signin.submit')}</button>
        </div>
      </main>
    );
  }
  return (
    <main class="center-page">
      <form class="card" onSubmit={submit}>
        <h1>{t('setup.title')}</h1>
        <label>
          {t('setup.password')}
          <input type="password" autocomplete="new-password" minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        <label>
          {t('setup.confirm')}
          <input type="password" autocomplete="new-password" minLength={8} value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} required />
        </label>
        {error && <p role="alert" class="error">{error}</p>}
        <button class="primary" type="submit" disabled={busy}>{t('setup.submit')}</button>
      </form>
    </main>
  );
}
