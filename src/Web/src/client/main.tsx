// The chat client entry (/ and /setup).
import { render } from 'preact';
import '../shared/base.css';
import { applyLang, t } from '../shared/i18n';
import { applyTheme } from '../shared/theme';

applyLang();
applyTheme();
render(<main><h1>{t('app.name')}</h1></main>, document.getElementById('app')!);
