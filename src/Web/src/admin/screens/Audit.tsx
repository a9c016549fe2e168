// Audit log: filters (actor, action, target, time range), paging newest first, export (CSV of the filtered view;
// JSON lines of the whole chain with its hashes, which `teamcomms admin audit verify` can check offline), and the
// status of the server's chain verification.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { get, query, type AuditEntry, type AuditVerify } from '../api';
import { auditCsv, download } from '../format';
import { ErrorBox, Field, When, errorText, useLoad } from '../ui';

interface AuditFilters {
  actor: string;
  action: string;
  target: string;
  since: string;
  until: string;
}

const PAGE = 50;
/** Most entries one CSV export gathers (20 pages of the largest page size). */
const EXPORT_MAX = 20_000;

function toIso(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}

function filterQuery(f: AuditFilters, before: number | null, limit: number): string {
  return query({ actor: f.actor.trim(), action: f.action.trim(), target: f.target.trim(), since: toIso(f.since), until: toIso(f.until), before: before ?? undefined, limit });
}

export function AuditScreen() {
  const [form, setForm] = useState<AuditFilters>({ actor: '', action: '', target: '', since: '', until: '' });
  const [applied, setApplied] = useState<AuditFilters>(form);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const verify = useLoad(() => get<AuditVerify>('/v1/admin/audit/verify'));

  async function load(before: number | null) {
    setBusy(true);
    try {
      const page = await get<{ entries: AuditEntry[]; next: number | null }>(`/v1/admin/audit${filterQuery(applied, before, PAGE)}`);
      setEntries((old) => (before === null ? page.entries : [...old, ...page.entries]));
      setNext(page.next);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    void load(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [applied]);

  async function exportCsv() {
    setBusy(true);
    try {
      const all: AuditEntry[] = [];
      let before: number | null = null;
      do {
        const page: { entries: AuditEntry[]; next: number | null } = await get(`/v1/admin/audit${filterQuery(applied, before, 1000)}`);
        all.push(...page.entries);
        before = page.next;
      } while (before !== null && all.length < EXPORT_MAX);
      download(`audit-${new Date().toISOString().slice(0, 10)}.csv`, auditCsv(all));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  async function exportChain() {
    setBusy(true);
    try {
      const lines: string[] = [];
      let after = 0;
      for (;;) {
        const page: { entries: AuditEntry[]; next: number | null } = await get(`/v1/admin/audit/export${query({ after, limit: 5000 })}`);
        for (const e of page.entries) lines.push(JSON.stringify(e));
        if (page.entries.length === 0 || page.next === null) break;
        after = page.next;
      }
      download(`audit-chain-${new Date().toISOString().slice(0, 10)}.jsonl`, lines.join('\n') + '\n', 'application/x-ndjson');
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const v = verify.data;
  const text = (f: keyof AuditFilters, label: string, type: 'text' | 'datetime-local' = 'text') => (
    <Field id={`audit-${f}`} label={label}>
      {/* Preact's input typing is a union per type; one helper serves text and datetime-local inputs. */}
      <input id={`audit-${f}`} type={type as 'text'} value={form[f]} onInput={(e) => setForm({ ...form, [f]: e.currentTarget.value })} />
    </Field>
  );
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">{t('section.audit')}</h1>
      <section aria-labelledby="verify-h" class="admin-panel">
        <h2 id="verify-h">{t('audit.verify')}</h2>
        <ErrorBox error={verify.error} />
        {v && (
          <p role="status" class={v.ok ? 'ok' : 'error'} data-testid="audit-verify">
            {v.ok ? t('audit.verify.ok', { n: v.entries, signed: v.last_signed_seq }) : t('audit.verify.bad', { n: v.problems.length })}
          </p>
        )}
        {v && !v.ok && <ul>{v.problems.map((p) => <li key={`${p.kind}-${p.seq}`}>#{p.seq} {p.kind}: {p.message}</li>)}</ul>}
        <button type="button" onClick={verify.reload}>{t('audit.verify.run')}</button>
      </section>
      <form class="admin-filters" role="search" onSubmit={(e) => {
        e.preventDefault();
        setApplied(form);
      }}>
        {text('actor', t('audit.actor'))}
        {text('action', t('audit.action'))}
        {text('target', t('audit.target'))}
        {text('since', t('audit.since'), 'datetime-local')}
        {text('until', t('audit.until'), 'datetime-local')}
        <button type="submit" class="primary">{t('audit.filter')}</button>
      </form>
      <p>
        <button type="button" disabled={busy} onClick={() => void exportCsv()}>{t('audit.export')}</button>{' '}
        <button type="button" disabled={busy} onClick={() => void exportChain()}>{t('audit.export.json')}</button>
      </p>
      <ErrorBox error={error} />
      <table class="admin-table" aria-labelledby="audit-h">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t('audit.time')}</th>
            <th scope="col">{t('audit.actor')}</th>
            <th scope="col">{t('audit.action')}</th>
            <th scope="col">{t('audit.target')}</th>
            <th scope="col">{t('audit.address')}</th>
            <th scope="col">{t('audit.details')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td><When ms={e.ts} /></td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target}</td>
              <td>{e.address ?? ''}</td>
              <td>{e.details ? Object.entries(e.details).map(([k, val]) => `${k}=${val}`).join(', ') : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && <button type="button" disabled={busy} onClick={() => void load(next)}>{t('admin.more')}</button>}
    </section>
  );
}
