// Parts of a message in the timeline: its actions (react, thread, edit, delete, pin, report), reactions, poll and
// attachments (docs/protocol.md §15).
import { useEffect, useState } from 'preact/hooks';
import type { RoomEvent } from '../shared/codec';
import { t } from '../shared/i18n';
import { idOf, type Aggregate } from './relations';
import { errorText, type ClientStore, type RoomSummary } from './store';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '✅'];
const rank: Record<string, number> = { member: 0, poster: 1, moderator: 2, owner: 3 };

export function MessageActions({ store, room, event: e, agg }: { store: ClientStore; room: RoomSummary; event: RoomEvent; agg: Aggregate }) {
  const [mode, setMode] = useState<'none' | 'edit' | 'report' | 'react'>('none');
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const mine = e.sender === store.userId;
  const id = idOf(e);
  const removed = agg.removed.has(id) || e.content === null;
  const pinned = (store.settings.value.get(room.room_id)?.pins ?? []).some((p) => idOf({ id: p } as RoomEvent) === id);
  const canModerate = (rank[room.role] ?? 0) >= rank.moderator;
  const canPin = room.kind === 'announcement' ? (rank[room.role] ?? 0) >= rank.poster : canModerate;
  const run = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
      setMode('none');
      setText('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (removed || room.archived) return null;
  return (
    <div class="actions" role="group" aria-label={t('msg.actions')}>
      <button class="icon" aria-label={t('msg.react')} aria-expanded={mode === 'react'} onClick={() => setMode(mode === 'react' ? 'none' : 'react')}>☺</button>
      <button class="icon" aria-label={t('msg.thread')} onClick={() => (store.thread.value = { room: room.room_id, root: e })}>↳</button>
      {mine && e.type === 'message' && (
        <button class="icon" aria-label={t('msg.edit')} onClick={() => { setText(String(agg.edits.get(id) ?? e.content?.body ?? '')); setMode('edit'); }}>✎</button>
      )}
      {(mine || canModerate) && (
        <button class="icon" aria-label={t('msg.delete')} onClick={() => { if (confirm(t('msg.deleteConfirm'))) void run(() => store.redact(room.room_id, e.id)); }}>🗑</button>
      )}
      {canPin && (
        <button class="icon" aria-label={pinned ? t('msg.unpin') : t('msg.pin')} aria-pressed={pinned} onClick={() => void run(() => store.pin(room.room_id, e.id, !pinned))}>📌</button>
      )}
      {!mine && <button class="icon" aria-label={t('msg.report')} onClick={() => setMode('report')}>⚑</button>}
      {mode === 'react' && (
        <span class="quick-reactions">
          {QUICK_REACTIONS.map((k) => (
            <button key={k} class="icon" aria-label={t('msg.reactWith', { key: k })} onClick={() => void run(() => store.react(room.room_id, e.id, k))}>{k}</button>
          ))}
        </span>
      )}
      {mode === 'edit' && (
        <form class="inline-form" onSubmit={(ev) => { ev.preventDefault(); void run(() => store.edit(room.room_id, e.id, text.trim())); }}>
          <label class="visually-hidden" for={`edit-${id}`}>{t('msg.edit')}</label>
          <input id={`edit-${id}`} value={text} onInput={(ev) => setText(ev.currentTarget.value)} dir="auto" required />
          <button type="submit" class="primary">{t('action.save')}</button>
          <button type="button" onClick={() => setMode('none')}>{t('action.cancel')}</button>
        </form>
      )}
      {mode === 'report' && (
        <form class="inline-form" onSubmit={(ev) => { ev.preventDefault(); void run(async () => { await store.report(room.room_id, e.id, text.trim()); store.notice.value = t('msg.reported'); }); }}>
          <label class="visually-hidden" for={`report-${id}`}>{t('msg.reportReason')}</label>
          <input id={`report-${id}`} placeholder={t('msg.reportReason')} value={text} onInput={(ev) => setText(ev.currentTarget.value)} required maxLength={2000} />
          <button type="submit" class="primary">{t('msg.report')}</button>
          <button type="button" onClick={() => setMode('none')}>{t('action.cancel')}</button>
        </form>
      )}
      {error && <span role="alert" class="error">{error}</span>}
    </div>
  );
}

export function Reactions({ store, room, event: e, agg }: { store: ClientStore; room: RoomSummary; event: RoomEvent; agg: Aggregate }) {
  const list = agg.reactions.get(idOf(e));
  if (!list?.length) return null;
  const toggle = (key: string, mine: string | null) => {
    if (mine) {
      const ev = agg.byId.get(mine);
      if (ev) void store.redact(room.room_id, ev.id).catch((err) => (store.notice.value = errorText(err)));
    } else {
      void store.react(room.room_id, e.id, key).catch((err) => (store.notice.value = errorText(err)));
    }
  };
  return (
    <div class="reactions">
      {list.map((r) => (
        <button key={r.key} class={`reaction${r.mine ? ' mine' : ''}`} aria-pressed={r.mine !== null}
          aria-label={t('msg.reactionCount', { key: r.key, n: r.count })} title={r.senders.map((s) => store.displayName(s)).join(', ')}
          onClick={() => toggle(r.key, r.mine)}>
          {r.key} {r.count}
        </button>
      ))}
    </div>
  );
}

export function ThreadSummary({ store, room, event: e, agg }: { store: ClientStore; room: RoomSummary; event: RoomEvent; agg: Aggregate }) {
  const replies = agg.threads.get(idOf(e));
  if (!replies?.length) return null;
  return (
    <button class="link thread-link" onClick={() => (store.thread.value = { room: room.room_id, root: e })}>
      {t('msg.replies', { n: replies.length })}
    </button>
  );
}

interface PollOption { id: string; text: string }

export function Poll({ store, room, event: e, agg }: { store: ClientStore; room: RoomSummary; event: RoomEvent; agg: Aggregate }) {
  const c = e.content ?? {};
  const options = (Array.isArray(c.options) ? c.options : []) as PollOption[];
  const results = agg.polls.get(idOf(e));
  const [error, setError] = useState<string | null>(null);
  const closed = results?.closed === true;
  const vote = (id: string) => void store.vote(room.room_id, e.id, [id]).then(() => setError(null), (err) => setError(errorText(err)));
  return (
    <div class="poll">
      <p class="poll-question" dir="auto"><strong>{t('poll.label')}:</strong> {String(c.question ?? '')}</p>
      <ul class="poll-options">
        {options.map((o) => (
          <li key={o.id}>
            <button disabled={closed || room.archived} onClick={() => vote(o.id)} aria-label={t('poll.voteFor', { option: o.text })}>
              <span dir="auto">{o.text}</span> <span class="muted">{results?.counts[o.id] ?? 0}</span>
            </button>
          </li>
        ))}
      </ul>
      <p class="muted">
        {t('poll.voters', { n: results?.voters ?? 0 })}{closed ? ` · ${t('poll.closed')}` : ''}{c.anonymous ? ` · ${t('poll.anonymous')}` : ''}
      </p>
      {!closed && e.sender === store.userId && (
        <button class="link" onClick={() => void store.closePoll(room.room_id, e.id).catch((err) => setError(errorText(err)))}>{t('poll.close')}</button>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </div>
  );
}

interface AttachmentRef { id: string; name: string; type: string; size: number | bigint }

export function Attachments({ store, event: e }: { store: ClientStore; event: RoomEvent }) {
  const list = (Array.isArray(e.content?.attachments) ? e.content!.attachments : []) as AttachmentRef[];
  if (!list.length) return null;
  return (
    <ul class="attachments">
      {list.map((a) => <AttachmentItem key={a.id} store={store} a={a} />)}
    </ul>
  );
}

function AttachmentItem({ store, a }: { store: ClientStore; a: AttachmentRef }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const image = typeof a.type === 'string' && a.type.startsWith('image/');
  useEffect(() => {
    if (!image) return;
    let u: string | null = null;
    store.attachmentUrl(a.id).then((x) => setUrl((u = x)), (err) => setError(errorText(err)));
    return () => {
      if (u) URL.revokeObjectURL(u);
    };
  }, [a.id]);
  const download = async () => {
    try {
      const u = await store.attachmentUrl(a.id);
      const link = document.createElement('a');
      link.href = u;
      link.download = a.name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(u), 60_000);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <li class="attachment">
      {image && url && <img src={url} alt={a.name} class="attachment-image" />}
      <button class="link" onClick={() => void download()}>{t('file.download', { name: a.name, size: formatSize(Number(a.size)) })}</button>
      {error && <span class="error">{error}</span>}
    </li>
  );
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
