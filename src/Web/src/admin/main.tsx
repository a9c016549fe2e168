// Placeholder of the admin console entry (/admin). The admin console is built on branch issue8admin, which
// replaces this file; it shares src/shared/ (codec, connection, api, i18n, theme, session, cache, base.css).
import { render } from 'preact';
import '../shared/base.css';
import { applyLang, t } from '../shared/i18n';
import { applyTheme } from '../shared/theme';

function AdminPlaceholder() {
  return (
    <main>
      <h1>{t('app.name')} admin</h1>
      <p>The admin console is not built yet.</p>
    </main>
  );
}

applyLang();
applyTheme();
render(<AdminPlaceholder />, document.getElementById('app')!);
