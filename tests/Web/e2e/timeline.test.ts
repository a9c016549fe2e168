import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { launchChromium, newPage, Server, signIn } from './harness';
import { WsClient } from './wsclient';

describe('timeline in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let room = '';
  let alice: WsClient;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    await server.createUser('alice', 'Alice Anders');
    await server.createUser('bob', 'Bob Brown');
    alice = await WsClient.connect(server.baseUrl, await server.login('alice', 'alice-password-1'));
    room = (await alice.call<{ room_id: string }>('rooms.create', { name: 'History', invite: ['bob@e2e.test'] })).room_id;
    const bob = await WsClient.connect(server.baseUrl, await server.login('bob', 'bob-password-1'));
    await bob.call('rooms.join', { room });
    bob.close();
    // 400 messages: four history pages of 100.
    for (let i = 1; i <= 400; i++) await alice.send(room, `message number ${i}${i % 7 === 0 ? '\nwith a second line' : ''}`);
    ({ context, page, problems } = await newPage(browser));
    await signIn(page, server, 'bob');
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^History/ }).click();
    await page.getByRole('log').getByText('message number 400', { exact: true }).waitFor();
  });
  afterAll(async () => {
    alice?.close();
    await context?.close();
    await browser?.close();
    await server?.dispose();
  });

  /** The top of the message with this seq relative to the log's viewport. */
  async function topOf(seq: number): Promise<number> {
    return page.evaluate((s) => {
      const log = document.querySelector('[role=log]')!;
      const li = log.querySelector(`li[data-seq="${s}"]`)!;
      return li.getBoundingClientRect().top - log.getBoundingClientRect().top;
    }, seq);
  }

  it('opens at the newest message, with the unread count cleared in the list and the title', async () => {
    const atBottom = await page.evaluate(() => {
      const log = document.querySelector('[role=log]') as HTMLElement;
      return log.scrollHeight - log.scrollTop - log.clientHeight;
    });
    expect(atBottom).toBeLessThan(40);
    await page.waitForFunction(() => document.title === 'TeamComms');
    // Only the items near the viewport are in the DOM (virtualized).
    expect(await page.locator('[role=log] li').count()).toBeLessThan(100);
  });

  it('keeps the message in view anchored while older pages load and new messages arrive', async () => {
    const log = page.getByRole('log');
    // Scroll up step by step; each time older pages load above, the message in view must not move.
    let loadsSeen = 0;
    for (let step = 0; step < 12; step++) {
      const captured = await page.evaluate(async () => {
        const logEl = document.querySelector('[role=log]') as HTMLElement;
        logEl.scrollTop = Math.max(0, logEl.scrollTop - 1200);
        await new Promise((r) => requestAnimationFrame(r));
        // The message at the top of the viewport, as the user sees it now.
        const top = logEl.getBoundingClientRect().top;
        const li = [...logEl.querySelectorAll<HTMLElement>('li[data-seq]')].find((x) => x.getBoundingClientRect().bottom > top + 1)!;
        return { seq: Number(li.dataset.seq), top: li.getBoundingClientRect().top - top, size: Number(li.getAttribute('aria-setsize')) };
      });
      await page.waitForFunction(() => document.querySelector('[role=log]')!.getAttribute('aria-busy') === 'false');
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const size = Number(await page.locator(`[role=log] li[data-seq="${captured.seq}"]`).getAttribute('aria-setsize'));
      if (size > captured.size) loadsSeen++;
      expect(Math.abs((await topOf(captured.seq)) - captured.top)).toBeLessThanOrEqual(1);
    }
    expect(loadsSeen).toBeGreaterThan(0);
    // Up there, a new message arrives: the view stays put and offers a jump to the latest.
    const anchorSeq = await page.evaluate(() => {
      const logEl = document.querySelector('[role=log]') as HTMLElement;
      const top = logEl.getBoundingClientRect().top;
      return Number([...logEl.querySelectorAll<HTMLElement>('li[data-seq]')].find((li) => li.getBoundingClientRect().bottom > top + 40)!.dataset.seq);
    });
    const before = await topOf(anchorSeq);
    await alice.send(room, 'a new message while Bob reads old ones');
    await page.getByRole('button', { name: 'Jump to latest' }).waitFor();
    expect(Math.abs((await topOf(anchorSeq)) - before)).toBeLessThanOrEqual(1);
    await page.getByRole('button', { name: 'Jump to latest' }).click();
    await log.getByText('a new message while Bob reads old ones').waitFor();
  });

  it('reaches the start of the room by scrolling back, with every seq once and in order', async () => {
    await page.evaluate(async () => {
      const logEl = document.querySelector('[role=log]') as HTMLElement;
      const done = () => document.querySelector('.timeline-start') !== null
        && logEl.querySelector('li[data-seq]')?.getAttribute('data-seq') === '1';
      for (let i = 0; i < 300 && !done(); i++) {
        logEl.scrollTop = 0;
        await new Promise((r) => requestAnimationFrame(r));
      }
    });
    await page.getByText('This is the beginning of the room.').waitFor();
    const first = await page.locator('[role=log] li[data-seq]').first().getAttribute('data-seq');
    expect(first).toBe('1');
    const setsize = await page.locator('[role=log] li[data-seq]').first().getAttribute('aria-setsize');
    expect(Number(setsize)).toBeGreaterThan(400);
  });

  it('sends and shows a Thai message in the bundled Noto Sans Thai font', async () => {
    const thai = 'สวัสดีครับ ทดสอบภาษาไทย ผู้ใหญ่ลี้ น้ำใจ';
    const box = page.getByRole('textbox', { name: /^Message/ });
    await box.fill(thai);
    await box.press('Enter');
    const item = page.getByRole('log').locator('li.message .body', { hasText: thai });
    await item.waitFor();
    const echoed = alice.events.some((f) => f.type === 'event' && f.event.content?.body === thai);
    expect(echoed || (await waitForEcho(alice, thai))).toBe(true);
    // The bundled face is loaded for the Thai range…
    const loaded = await page.evaluate(async (text) => {
      await document.fonts.ready;
      return document.fonts.check('16px "Noto Sans Thai"', text)
        && [...document.fonts].some((f) => f.family.replace(/"/g, '') === 'Noto Sans Thai' && f.status === 'loaded' && /U\+E0[0-7]|U\+0E0/i.test(f.unicodeRange));
    }, thai);
    expect(loaded).toBe(true);
    // …and Chromium draws the message's glyphs with it (not with the system's Thai font).
    const cdp = await context.newCDPSession(page);
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: '[role=log] li.message .body' });
    let fonts: { familyName: string; isCustomFont: boolean; glyphCount: number }[] = [];
    for (const nodeId of nodeIds) {
      const { outerHTML } = await cdp.send('DOM.getOuterHTML', { nodeId });
      if (outerHTML.includes(thai)) fonts = (await cdp.send('CSS.getPlatformFontsForNode', { nodeId })).fonts;
    }
    expect(fonts.length).toBeGreaterThan(0);
    expect(fonts.every((f) => f.familyName === 'Noto Sans Thai' && f.isCustomFont)).toBe(true);
  });

  it('has no WCAG 2.1 A/AA violations in the room list, the timeline and the composer', async () => {
    for (const theme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: theme });
      const results = await new AxeBuilder({ page })
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
        .include('nav.room-list')
        .include('[role=log]')
        .include('form.composer')
        .analyze();
      expect(results.violations.map((v) => `${theme}: ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    }
    expect(problems).toEqual([]);
  });
});

async function waitForEcho(client: WsClient, body: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (client.events.some((f) => f.type === 'event' && f.event.content?.body === body)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
