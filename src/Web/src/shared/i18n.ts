// Thai and English UI. Each entry (client, admin) registers its own messages with registerMessages(); shared ones
// are below. The language follows the browser on first use and can be switched; the choice is kept in localStorage.
import { computed, signal } from '@preact/signals';

export type Lang = 'en' | 'th';
type Dict = Record<string, string>;

const dictionaries: Record<Lang, Dict> = {
  en: {
    'app.name': 'TeamComms',
    'lang.switch': 'ภาษาไทย',
    'lang.label': 'Language',
    'theme.label': 'Theme',
    'theme.system': 'System',
    'theme.light': 'Light',
    'theme.dark': 'Dark',
    'era.label': 'Buddhist era dates',
    'error.network': 'The server cannot be reached.',
    'action.cancel': 'Cancel',
    'action.close': 'Close',
    'action.save': 'Save',
  },
  th: {
    'app.name': 'TeamComms',
    'lang.switch': 'English',
    'lang.label': 'ภาษา',
    'theme.label': 'ธีม',
    'theme.system': 'ตามระบบ',
    'theme.light': 'สว่าง',
    'theme.dark': 'มืด',
    'era.label': 'แสดงปีพุทธศักราช',
    'error.network': 'ติดต่อเซิร์ฟเวอร์ไม่ได้',
    'action.cancel': 'ยกเลิก',
    'action.close': 'ปิด',
    'action.save': 'บันทึก',
  },
};

export function registerMessages(messages: Record<Lang, Dict>): void {
  Object.assign(dictionaries.en, messages.en);
  Object.assign(dictionaries.th, messages.th);
}

function initialLang(): Lang {
  const stored = safeStorage()?.getItem('tc.lang');
  if (stored === 'en' || stored === 'th') return stored;
  return typeof navigator !== 'undefined' && navigator.language?.toLowerCase().startsWith('th') ? 'th' : 'en';
}

export const lang = signal<Lang>(initialLang());
/** Thai dates in the Buddhist era instead of the default Gregorian calendar. */
export const buddhistEra = signal<boolean>(safeStorage()?.getItem('tc.era') === 'buddhist');

export function setLang(value: Lang): void {
  lang.value = value;
  safeStorage()?.setItem('tc.lang', value);
  applyLang();
}

export function setBuddhistEra(value: boolean): void {
  buddhistEra.value = value;
  safeStorage()?.setItem('tc.era', value ? 'buddhist' : 'gregory');
}

export function applyLang(): void {
  if (typeof document !== 'undefined') document.documentElement.lang = lang.value;
}

/** Translates `key`, replacing {name} placeholders. Missing keys fall back to English, then to the key itself. */
export function t(key: string, params?: Record<string, string | number>): string {
  let text = dictionaries[lang.value][key] ?? dictionaries.en[key] ?? key;
  if (params) for (const [k, v] of Object.entries(params)) text = text.split(`{${k}}`).join(String(v));
  return text;
}

/** The locale for Intl formatting: Thai uses the Gregorian calendar unless the Buddhist era is switched on. */
export const locale = computed(() =>
  lang.value === 'th' ? (buddhistEra.value ? 'th-TH-u-ca-buddhist' : 'th-TH-u-ca-gregory') : 'en-GB');

export function safeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
