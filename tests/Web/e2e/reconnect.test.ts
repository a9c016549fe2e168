import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, newPage, Server, signIn } from './harness';
import { WsClient } from './wsclient';
import { decodeFrames } from '../../../src/Web/src/shared/codec';

// The connection is cut at the server (a restart), not with setOffline (which leaves WebSockets open). The banner
// shows after a few seconds offline (Playwright's clock), and after the reconnect the timeline has every message
// sent meanwhile, in order, with no gap and no duplicate.
describe('reconnect', () => {
  let server: Server;
  let browser: Browser;
  let room = '';
  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    await server.createUser('alice', 'Alice Anders');
    await server.createUser('bob', 'Bob Brown');
    const alice = await WsClient.connect(server.baseUrl, await server.login('alice', 'alice-password-1'));
    room = (await alice.call<{ room_id: string }>('rooms.create', { name: 'Ops', invite: ['bob@e2e.test'] })).room_id;
    alice.close();
    const bob = await WsClient.connect(server.baseUrl, await server.login('bob', 'bob-password-1'));
    await bob.call('rooms.join', { room });
    bob.close();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('shows the banner while the server is down and resumes without a gap', async () => {
    const { page, context, problems } = await newPage(browser);
    // Every Hello the page sends and every Welcome it gets, decoded.
    const hellos: unknown[][] = [];
    const welcomes: unknown[][] = [];
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => {
        if (typeof f.payload !== 'string') for (const fr of decodeFrames(new Uint8Array(f.payload))) if (fr[0] === 1) hellos.push(fr);
      });
      ws.on('framereceived', (f) => {
        if (typeof f.payload !== 'string') for (const fr of decodeFrames(new Uint8Array(f.payload))) if (fr[0] === 64) welcomes.push(fr);
      });
    });
    await page.clock.install();
    await signIn(page, server, 'bob');
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Ops/ }).click();
    const log = page.getByRole('log');
    await log.getByText('Bob Brown joined').waitFor();

    const alice = await WsClient.connect(server.baseUrl, await server.login('alice', 'alice-password-1'));
    await alice.send(room, 'before the cut');
    await log.getByText('before the cut').waitFor();
    alice.close();

    // From here the page's timers run only when the test advances its clock.
    await page.clock.pauseAt(Date.now() + 1000);
    await server.stop('SIGKILL');
    const banner = page.getByRole('alert').filter({ hasText: 'Connection lost' });
    // The socket is closed, but no banner yet: it waits a few seconds before alarming anyone.
    await page.waitForFunction(() => document.querySelector('.banner') === null);
    await page.clock.runFor(4000);
    await banner.waitFor();

    await server.launch();
    const alice2 = await WsClient.connect(server.baseUrl, await server.login('alice', 'alice-password-1'));
    for (let i = 1; i <= 5; i++) await alice2.send(room, `while away ${i}`);
    alice2.close();

    // Let the backoff run out: the page reconnects and resumes from its token.
    await page.clock.runFor(60_000);
    await log.getByText('while away 5').waitFor();
    await banner.waitFor({ state: 'detached' });

    // It resumed: the second Hello carried the last resume token, and the server accepted it (Welcome echoes it).
    expect(hellos.length).toBeGreaterThanOrEqual(2);
    expect(hellos[0][3]).toBeNull();
    const resume = hellos[hellos.length - 1][3] as Uint8Array;
    expect(resume).toBeInstanceOf(Uint8Array);
    expect(welcomes[welcomes.length - 1][4]).toEqual(resume);
    // The token never travels in a URL.
    expect(page.url()).not.toContain('tc_');

    const seqs = await log.locator('li[data-seq]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.seq)));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] + 1);
    const texts = await log.locator('li.message .body').allInnerTexts();
    expect(texts.filter((x) => x.startsWith('while away'))).toEqual([1, 2, 3, 4, 5].map((i) => `while away ${i}`));
    expect(texts.filter((x) => x === 'before the cut')).toHaveLength(1);
    // Chromium logs the failed reconnect attempts while the server is down; nothing else may appear.
    expect(problems.filter((p) => !p.includes('WebSocket connection to'))).toEqual([]);
    await context.close();
  });
});
