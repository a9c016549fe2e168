// The chat client entry (/ and /setup).
import { render } from 'preact';
import '../shared/base.css';
import './client.css';
import './messages';
import { applyLang } from '../shared/i18n';
import { applyTheme } from '../shared/theme';
import { session } from '../shared/session';
import { App } from './App';
import { startStore } from './store';

applyLang();
applyTheme();
if (session.value && location.pathname !== '/setup') startStore(session.value);
render(<App />, document.getElementById('app')!);
