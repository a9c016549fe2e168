// Dark mode: follows prefers-color-scheme, with a per-browser override kept in localStorage.
// The CSS keys off <html data-theme="light|dark"> (override) or the media query (system).
import { signal } from '@preact/signals';
import { safeStorage } from './i18n';

export type ThemeChoice = 'system' | 'light' | 'dark';

function initial(): ThemeChoice {
  const v = safeStorage()?.getItem('tc.theme');
  return v === 'light' || v === 'dark' ? v : 'system';
}

export const theme = signal<ThemeChoice>(initial());

export function setTheme(value: ThemeChoice): void {
  theme.value = value;
  if (value === 'system') safeStorage()?.removeItem('tc.theme');
  else safeStorage()?.setItem('tc.theme', value);
  applyTheme();
}

export function applyTheme(): void {
  if (typeof document === 'undefined') return;
  const root = document.documentElement;
  if (theme.value === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme.value;
}
