// Smart groups: directory rules ("department = Nursing and location = \"Ward 3\"") with a live preview of the
// people the rule matches as it is typed (POST /v1/admin/rules/preview, nothing saved), then save, edit, delete.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { del, get, post, put, seg, type Rule, type RulePreview } from '../api';
import { ErrorBox, Field, Status, errorText, useAction, useLoad } from '../ui';

/** Waits this long after the last keystroke before asking the server: one request per pause, not per key. */
const PREVIEW_DELAY_MS = 300;

export function RulesScreen() {
  const { data, error, reload } = useLoad(() => get<{ rules: Rule[] }>('/v1/admin/rules'));
  const action = useAction();
  const [editing, setEditing] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [expression, setExpression] = useState('');
  const [description, setDescription] = useState('');
  const [preview, setPreview] = useState<RulePreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const request = useRef(0);

  useEffect(() => {
    const text = expression.trim();
    if (!text) {
      setPreview(null);
      setPreviewError(null);
      return;
    }
    const mine = ++request.current;
    const timer = setTimeout(() => {
      post<RulePreview>('/v1/admin/rules/preview', { expression: text, limit: 20 }).then(
        (p) => {
          if (mine === request.current) {
            setPreview(p);
            setPreviewError(null);
          }
        },
        (e) => {
          if (mine === request.current) {
            setPreview(null);
            setPreviewError(errorText(e));
          }
        });
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [expression]);

  function edit(rule: Rule | null) {
    setEditing(rule?.name ?? null);
    setName(rule?.name ?? '');
    setExpression(rule?.expression ?? '');
    setDescription(rule?.description ?? '');
  }

  async function save(e: Event) {
    e.preventDefault();
    const body = { name: name.trim(), expression: expression.trim(), description: description.trim() || undefined };
    if (await action.run(() => (editing ? put(`/v1/admin/rules/${seg(editing)}`, body) : post('/v1/admin/rules', body)))) {
      edit(null);
      reload();
    }
  }

  return (
    <section aria-labelledby="rules-h">
      <h1 id="rules-h">{t('section.rules')}</h1>
      <ErrorBox error={error ?? action.error} />
      <Status text={action.status} />
      <table class="admin-table" aria-labelledby="rules-h">
        <thead>
          <tr>
            <th scope="col">{t('rules.name')}</th>
            <th scope="col">{t('rules.expression')}</th>
            <th scope="col">{t('rules.matches')}</th>
            <th scope="col">{t('rules.rooms')}</th>
            <th scope="col"><span class="visually-hidden">{t('rules.edit')}</span></th>
          </tr>
        </thead>
        <tbody>
          {(data?.rules ?? []).map((r) => (
            <tr key={r.name}>
              <td>{r.name}</td>
              <td><code>{r.expression}</code></td>
              <td>{r.matches}</td>
              <td>{r.rooms.length}</td>
              <td>
                <button type="button" onClick={() => edit(r)}>{t('rules.edit')}<span class="visually-hidden"> {r.name}</span></button>{' '}
                <button type="button" class="danger" onClick={async () => {
                  if (await action.run(() => del(`/v1/admin/rules/${seg(r.name)}`))) reload();
                }}>{t('rules.delete')}<span class="visually-hidden"> {r.name}</span></button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="admin-form" aria-labelledby="rule-form-h" onSubmit={save}>
        <h2 id="rule-form-h">{editing ? t('rules.editing', { name: editing }) : t('rules.new')}</h2>
        <Field id="rule-name" label={t('rules.name')}>
          <input id="rule-name" required value={name} readOnly={editing !== null} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field id="rule-expression" label={t('rules.expression')}>
          <textarea id="rule-expression" required rows={2} value={expression} aria-describedby="rule-preview"
            onInput={(e) => setExpression(e.currentTarget.value)} />
        </Field>
        <Field id="rule-description" label={t('rules.description')}>
          <input id="rule-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary" disabled={action.busy}>{t('rules.save')}</button>
        {editing && <button type="button" onClick={() => edit(null)}>{t('action.cancel')}</button>}
      </form>
      <section id="rule-preview" aria-labelledby="rule-preview-h" aria-live="polite">
        <h2 id="rule-preview-h">{t('rules.preview')}</h2>
        {previewError && <p class="error">{previewError}</p>}
        {preview && (
          <>
            <p data-testid="preview-count">{t('rules.preview.count', { n: preview.count })}</p>
            <ul>
              {preview.people.map((p) => <li key={p.user_id}>{p.display_name}{p.department ? ` · ${p.department}` : ''}{p.title ? ` · ${p.title}` : ''}</li>)}
            </ul>
            {preview.count > preview.people.length && <p>{t('rules.preview.more', { n: preview.count - preview.people.length })}</p>}
          </>
        )}
      </section>
    </section>
  );
}
