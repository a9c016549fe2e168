// The admin console entry (/admin): a separate bundle from the chat client, sharing src/shared (api, i18n, theme,
// format, base.css). It speaks only the documented admin API (docs/operations.md, "Admin console API").
import { render } from 'preact';
import '../shared/base.css';
import './admin.css';
import './messages';
import { applyLang } from '../shared/i18n';
import { applyTheme } from '../shared/theme';
import { App } from './App';

applyLang();
applyTheme();
render(<App />, document.getElementById('app')!);
