// Settings: language, calendar, theme, notifications (permission from this click, snooze).
import { buddhistEra, lang, setBuddhistEra, setLang, t, type Lang } from '../shared/i18n';
import { formatDateTime } from '../shared/format';
import { setTheme, theme, type ThemeChoice } from '../shared/theme';
import type { ClientStore } from './store';
import { UrgentForm } from './Attention';

export function Preferences({ compact = false }: { compact?: boolean }) {
  return (
    <div class={compact ? 'prefs compact' : 'prefs'}>
      <label>
        {t('lang.label')}
        <select value={lang.value} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
          <option value="en" lang="en">English</option>
          <option value="th" lang="th">ไทย</option>
        </select>
      </label>
      <label>
        {t('theme.label')}
        <select value={theme.value} onChange={(e) => setTheme(e.currentTarget.value as ThemeChoice)}>
          <option value="system">{t('theme.system')}</option>
          <option value="light">{t('theme.light')}</option>
          <option value="dark">{t('theme.dark')}</option>
        </select>
      </label>
      {!compact && (
        <label class="check">
          <input type="checkbox" checked={buddhistEra.value} onChange={(e) => setBuddhistEra(e.currentTarget.checked)} />
          {t('era.label')}
        </label>
      )}
    </div>
  );
}

export function SettingsView({ store }: { store: ClientStore }) {
  const n = store.notifier;
  const perm = n.permission.value;
  const snoozed = n.snoozedUntil.value > Date.now();
  return (
    <section class="page" aria-labelledby="settings-title">
      <h2 id="settings-title">{t('settings.title')}</h2>
      <Preferences />
      <h3>{t('settings.notifications')}</h3>
      {perm === 'unsupported' && <p>{t('settings.notificationsUnsupported')}</p>}
      {perm === 'default' && <button onClick={() => void n.requestPermission()}>{t('settings.enableNotifications')}</button>}
      {perm === 'denied' && <p>{t('settings.notificationsDenied')}</p>}
      {perm === 'granted' && <p>{t('settings.notificationsOn')}</p>}
      <div class="row" role="group" aria-label={t('settings.snooze')}>
        <span>{t('settings.snooze')}:</span>
        <button onClick={() => n.snooze(60)}>{t('settings.snooze1h')}</button>
        <button onClick={() => n.snooze(480)}>{t('settings.snooze8h')}</button>
        {snoozed && <button onClick={() => n.snooze(0)}>{t('settings.snoozeOff')}</button>}
      </div>
      {snoozed && <p role="status">{t('settings.snoozedUntil', { time: formatDateTime(n.snoozedUntil.value) })}</p>}
      <h3>{t('urgent.broadcast')}</h3>
      <p class="muted">{t('urgent.broadcastHelp')}</p>
      <UrgentForm store={store} room={null} />
    </section>
  );
}
