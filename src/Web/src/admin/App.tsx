// The console's frame: sign-in, the menu of the sections the signed-in user's roles open (GET /v1/admin/console),
// and the current screen. Navigation uses the URL fragment (#users): never a token in a URL.
import { useEffect, useState } from 'preact/hooks';
import { login, logout } from '../shared/api';
import { lang, setLang, t } from '../shared/i18n';
import { get, type ConsoleInfo } from './api';
import { visibleSections, type MenuSection } from './format';
import { ApprovalsScreen } from './screens/Approvals';
import { AcknowledgementsScreen } from './screens/Acknowledgements';
import { AuditScreen } from './screens/Audit';
import { ComplianceScreen } from './screens/Compliance';
import { FiguresScreen } from './screens/Figures';
import { IncidentsScreen } from './screens/Incidents';
import { ModerationScreen } from './screens/Moderation';
import { PoliciesScreen } from './screens/Policies';
import { RetentionScreen } from './screens/Retention';
import { RolesScreen } from './screens/Roles';
import { RoomsScreen } from './screens/Rooms';
import { RulesScreen } from './screens/Rules';
import { ScimScreen } from './screens/Scim';
import { UsersScreen } from './screens/Users';
import { adminSession, clearAdminSession, saveAdminSession } from './session';
import { ErrorBox, errorText } from './ui';

function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await login(username, password, 'admin console');
      saveAdminSession({ token: r.access_token, userId: r.user_id, sessionId: r.session_id });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="admin-signin">
      <h1>{t('admin.signin')}</h1>
      <form onSubmit={submit}>
        <div class="field">
          <label for="admin-username">{t('admin.username')}</label>
          <input id="admin-username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
        </div>
        <div class="field">
          <label for="admin-password">{t('admin.password')}</label>
          <input id="admin-password" type="password" autocomplete="current-password" value={password}
            onInput={(e) => setPassword(e.currentTarget.value)} required />
        </div>
        <button class="primary" type="submit" disabled={busy}>{t('admin.signin.button')}</button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

function currentSection(): string {
  return (typeof location === 'undefined' ? '' : location.hash.replace(/^#/, '')) || '';
}

function Screen({ section, info }: { section: MenuSection; info: ConsoleInfo }) {
  const can = (s: string) => info.sections.includes(s);
  switch (section) {
    case 'users': return <UsersScreen can={can} />;
    case 'rooms': return <RoomsScreen />;
    case 'roles': return <RolesScreen canEdit={can('roles.edit')} />;
    case 'rules': return <RulesScreen />;
    case 'policies': return <PoliciesScreen canPartners={can('partners')} />;
    case 'scim': return <ScimScreen />;
    case 'audit': return <AuditScreen />;
    case 'retention': return <RetentionScreen canEditPolicy={can('retention.policy')} />;
    case 'moderation': return <ModerationScreen />;
    case 'incidents': return <IncidentsScreen canUnseal={can('incidents.unseal')} />;
    case 'acks': return <AcknowledgementsScreen />;
    case 'exports': return <ComplianceScreen />;
    case 'approvals': return <ApprovalsScreen userId={info.user_id} />;
    case 'figures': return <FiguresScreen />;
  }
}

function Console() {
  const [info, setInfo] = useState<ConsoleInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [hash, setHash] = useState(currentSection());
  useEffect(() => {
    get<ConsoleInfo>('/v1/admin/console').then(setInfo, (e) => setError(errorText(e)));
    const onHash = () => setHash(currentSection());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  async function signOut() {
    const token = adminSession.value?.token;
    clearAdminSession();
    if (token) await logout(token).catch(() => undefined);
  }
  if (!info) {
    return <main><ErrorBox error={error} />{error ? null : <p role="status">{t('admin.loading')}</p>}</main>;
  }
  const sections = visibleSections(info.sections);
  const section = (sections as string[]).includes(hash) ? (hash as MenuSection) : sections[0];
  return (
    <div class="admin-shell">
      <header class="admin-header">
        <span class="admin-brand">{t('admin.title')}</span>
        <span class="admin-who">{t('admin.signed.in.as', { user: info.display_name ?? info.user_id })}</span>
        <button type="button" onClick={() => setLang(lang.value === 'th' ? 'en' : 'th')}>{t('lang.switch')}</button>
        <button type="button" onClick={signOut}>{t('admin.signout')}</button>
      </header>
      {sections.length > 0 && (
        <nav class="admin-nav" aria-label={t('admin.menu')}>
          <ul>
            {sections.map((s) => (
              <li key={s}>
                <a href={`#${s}`} aria-current={s === section ? 'page' : undefined}>{t(`section.${s}`)}</a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main class="admin-main" id="admin-main">
        {section ? <Screen key={section} section={section} info={info} /> : <p>{t('admin.no.sections')}</p>}
      </main>
    </div>
  );
}

export function App() {
  return adminSession.value ? <Console /> : <SignIn />;
}
