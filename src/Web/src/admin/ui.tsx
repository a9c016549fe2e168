// Small building blocks of the console screens.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { formatDateTime } from '../shared/format';
import { t } from '../shared/i18n';

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** An error the screen hit, announced to screen readers. */
export function ErrorBox({ error }: { error: string | null }) {
  return error ? <p class="error" role="alert">{error}</p> : null;
}

/** A success or progress note, announced politely. */
export function Status({ text }: { text: string | null }) {
  return <p class="admin-status" role="status">{text ?? ''}</p>;
}

export function When({ ms }: { ms: number | null | undefined }) {
  if (ms === null || ms === undefined) return <span class="muted">{t('admin.never')}</span>;
  return <time dateTime={new Date(ms).toISOString()}>{formatDateTime(ms)}</time>;
}

/** Loads data on mount and on reload(); keeps the last error. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data: T | null; error: string | null; loading: boolean; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (d) => {
        if (live) {
          setData(d);
          setError(null);
          setLoading(false);
        }
      },
      (e) => {
        if (live) {
          setError(errorText(e));
          setLoading(false);
        }
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** Runs an action, reporting its error or a success text. */
export function useAction(): {
  busy: boolean;
  error: string | null;
  status: string | null;
  run: (action: () => Promise<unknown>, done?: string) => Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await action();
      setStatus(done ?? t('admin.done'));
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, status, run };
}

export function Field({ label, children, id }: { label: string; id: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
    </div>
  );
}
