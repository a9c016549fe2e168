import { describe, expect, it } from 'vitest';
import type { RoomEvent } from '../../../src/Web/src/shared/codec';
import { aggregate, displayBody, idOf } from '../../../src/Web/src/client/relations';

const ROOM = '!abcdefghabcdefgh@acme.example';
let n = 0;
function ev(type: string, content: Record<string, unknown> | null, sender = 'alice@acme.example'): RoomEvent {
  n++;
  const id = new Uint8Array(32);
  id[0] = n;
  return { v: 1n, id, room: ROOM, seq: BigInt(n), prev: null, sender, type, ts: 1767225600000n + BigInt(n), contentHash: new Uint8Array(32), content };
}
const rel = (type: string, target: RoomEvent) => ({ type, event: target.id });

describe('aggregate', () => {
  it('folds edits, reactions, replies and poll results into their targets', () => {
    n = 0;
    const root = ev('message', { body: 'original' });
    const edit = ev('message', { body: 'edited', rel: rel('edit', root) });
    const r1 = ev('reaction', { key: '👍', rel: rel('reaction', root) }, 'bob@acme.example');
    const r2 = ev('reaction', { key: '👍', rel: rel('reaction', root) });
    const reply = ev('message', { body: 'in the thread', rel: rel('thread', root) }, 'bob@acme.example');
    const poll = ev('poll', { question: 'Lunch?', options: [{ id: '1', text: 'Yes' }, { id: '2', text: 'No' }] });
    const results = ev('poll.results', { counts: { 1: 2, 2: 0 }, voters: 2, closed: false, rel: rel('results', poll) });
    const agg = aggregate([root, edit, r1, r2, reply, poll, results], 'alice@acme.example');
    expect(agg.visible.map((e) => e.seq)).toEqual([root.seq, poll.seq]);
    expect(displayBody(agg, root)).toBe('edited');
    expect(agg.reactions.get(idOf(root))).toEqual([{ key: '👍', count: 2, mine: idOf(r2), senders: ['bob@acme.example', 'alice@acme.example'] }]);
    expect(agg.threads.get(idOf(root))!.map((e) => e.content?.body)).toEqual(['in the thread']);
    expect(agg.polls.get(idOf(poll))).toEqual({ counts: { 1: 2, 2: 0 }, voters: 2, closed: false });
  });

  it('ignores an edit by someone else', () => {
    n = 0;
    const root = ev('message', { body: 'mine' });
    const forged = ev('message', { body: 'not yours', rel: rel('edit', root) }, 'mallory@acme.example');
    expect(displayBody(aggregate([root, forged], 'x'), root)).toBe('mine');
  });

  it('drops content on redaction, un-counts a redacted reaction, and applies retention purges', () => {
    n = 0;
    const a = ev('message', { body: 'old' });
    const b = ev('message', { body: 'secret' });
    const react = ev('reaction', { key: '🎉', rel: rel('reaction', b) });
    const redactB = ev('room.redaction', { rel: rel('redaction', b) }, '_system@acme.example');
    const redactReact = ev('room.redaction', { rel: rel('redaction', react) }, '_system@acme.example');
    const purge = ev('room.purge', { through: 1, before: 0, reason: 'retention' }, '_system@acme.example');
    const agg = aggregate([a, b, react, redactB, redactReact, purge], 'alice@acme.example');
    expect(displayBody(agg, a)).toBeNull();
    expect(displayBody(agg, b)).toBeNull();
    expect(agg.reactions.get(idOf(b))).toBeUndefined();
    expect(agg.visible.map((e) => e.seq)).toEqual([1n, 2n]);
  });

  it('takes the pin list from the latest room.pins event', () => {
    n = 0;
    const a = ev('message', { body: 'pin me' });
    const pins = ev('room.pins', { events: [a.id] });
    expect(aggregate([a, pins], 'x').pins).toEqual([idOf(a)]);
  });
});
