// The company directory: search people by name, department or title; a profile; a DM started from it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../shared/i18n';
import { errorText, type ClientStore, type Profile } from './store';

export function DirectoryView({ store }: { store: ClientStore }) {
  const [query, setQuery] = useState('');
  const [field, setField] = useState('name');
  const [results, setResults] = useState<Profile[]>([]);
  const [next, setNext] = useState<unknown>(null);
  const [searched, setSearched] = useState(false);
  const [selected, setSelected] = useState<Profile | null>(null);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);

  const search = async (q: string, f: string, cursor?: unknown) => {
    const mine = ++seq.current;
    try {
      const r = await store.connection.call<{ users: Profile[]; next: unknown }>('directory.search', { query: q, field: f, limit: 30, cursor: cursor ?? undefined });
      if (mine !== seq.current) return;
      setResults(cursor ? (prev) => [...prev, ...r.users] : r.users);
      setNext(r.next ?? null);
      setSearched(true);
      setError(null);
    } catch (err) {
      if (mine === seq.current) setError(errorText(err));
    }
  };

  useEffect(() => {
    // Search as the user types, a little after the last key.
    const timer = setTimeout(() => void search(query.trim(), field), 200);
    return () => clearTimeout(timer);
  }, [query, field]);

  return (
    <section class="page directory" aria-labelledby="dir-title">
      <h2 id="dir-title">{t('dir.title')}</h2>
      <div class="row" role="search">
        <label>
          {t('dir.search')}
          <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} autoFocus />
        </label>
        <label>
          {t('dir.field')}
          <select value={field} onChange={(e) => setField(e.currentTarget.value)}>
            <option value="name">{t('dir.field.name')}</option>
            <option value="department">{t('dir.field.department')}</option>
            <option value="title">{t('dir.field.title')}</option>
          </select>
        </label>
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      <div class="dir-columns">
        <div>
          {searched && results.length === 0 && <p role="status">{t('dir.none')}</p>}
          <ul class="people">
            {results.map((p) => (
              <li key={p.user_id}>
                <button class={`person${selected?.user_id === p.user_id ? ' selected' : ''}`} onClick={() => setSelected(p)} aria-pressed={selected?.user_id === p.user_id}>
                  <span class="person-name" dir="auto">{p.display_name ?? p.username ?? p.user_id}</span>
                  <span class="muted" dir="auto">{[p.title, p.department].filter(Boolean).join(' · ')}</span>
                </button>
              </li>
            ))}
          </ul>
          {next !== null && <button onClick={() => void search(query.trim(), field, next)}>{t('dir.more')}</button>}
        </div>
        {selected && <ProfileCard store={store} profile={selected} />}
      </div>
    </section>
  );
}

function ProfileCard({ store, profile: p }: { store: ClientStore; profile: Profile }) {
  const [error, setError] = useState<string | null>(null);
  const name = p.display_name ?? p.username ?? p.user_id;
  const rows: [string, string | null | undefined][] = [
    ['profile.title', p.title], ['profile.department', p.department], ['profile.email', p.email],
    ['profile.phone', p.phone], ['profile.location', p.location], ['profile.timezone', p.time_zone],
  ];
  return (
    <article class="card profile" aria-label={t('dir.profile', { name })}>
      <h3 dir="auto">{name}</h3>
      <p class="muted">{p.user_id}</p>
      <dl>
        {rows.filter(([, v]) => v).map(([k, v]) => (
          <div key={k}><dt>{t(k)}</dt><dd dir="auto">{v}</dd></div>
        ))}
      </dl>
      {p.user_id !== store.userId && (
        <button class="primary" onClick={() => void store.startDm(p.user_id).catch((err) => setError(errorText(err)))}>
          {t('dir.message')}
        </button>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </article>
  );
}
