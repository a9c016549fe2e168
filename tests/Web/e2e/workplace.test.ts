import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, newPage, Server, signIn } from './harness';
import { WsClient } from './wsclient';

// The workplace features of protocol §15 through the UI: edit, delete, reactions, threads, polls, pins, files, reports.
describe('workplace features', () => {
  let server: Server;
  let browser: Browser;
  let room = '';
  let a: { context: BrowserContext; page: Page; problems: string[] };
  let b: { context: BrowserContext; page: Page; problems: string[] };

  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    await server.createUser('alice', 'Alice Anders');
    await server.createUser('bob', 'Bob Brown');
    const alice = await WsClient.connect(server.baseUrl, await server.login('alice', 'alice-password-1'));
    room = (await alice.call<{ room_id: string }>('rooms.create', { name: 'Team', invite: ['bob@e2e.test'] })).room_id;
    alice.close();
    const bob = await WsClient.connect(server.baseUrl, await server.login('bob', 'bob-password-1'));
    await bob.call('rooms.join', { room });
    bob.close();
    a = await newPage(browser);
    b = await newPage(browser);
    for (const [p, u] of [[a.page, 'alice'], [b.page, 'bob']] as const) {
      await signIn(p, server, u);
      await p.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Team/ }).click();
      await p.getByRole('log').getByText('Bob Brown joined').waitFor();
    }
  });
  afterAll(async () => {
    await a?.context.close();
    await b?.context.close();
    await browser?.close();
    await server?.dispose();
  });

  const msg = (p: Page, text: string) => p.getByRole('log').locator('li.message', { hasText: text });
  async function send(p: Page, text: string) {
    const box = p.getByRole('textbox', { name: /^Message/ });
    await box.fill(text);
    await box.press('Enter');
    await msg(p, text).waitFor();
  }

  it('edits and deletes a message, for both people', async () => {
    await send(a.page, 'first draft');
    await msg(b.page, 'first draft').waitFor();
    const item = msg(a.page, 'first draft');
    await item.hover();
    await item.getByRole('button', { name: 'Edit' }).click();
    await item.getByRole('textbox', { name: 'Edit' }).fill('final text');
    await item.getByRole('button', { name: 'Save' }).click();
    await msg(b.page, 'final text').getByText('(edited)').waitFor();

    await send(a.page, 'to be deleted');
    await msg(b.page, 'to be deleted').waitFor();
    a.page.once('dialog', (d) => void d.accept());
    const del = msg(a.page, 'to be deleted');
    await del.hover();
    await del.getByRole('button', { name: 'Delete' }).click();
    await b.page.getByRole('log').getByText('to be deleted').waitFor({ state: 'detached' });
    expect(await b.page.getByRole('log').getByText('Message removed').count()).toBeGreaterThan(0);
  });

  it('reacts, replies in a thread, and reports', async () => {
    const item = msg(b.page, 'final text');
    await item.hover();
    await item.getByRole('button', { name: 'React', exact: true }).click();
    await item.getByRole('button', { name: 'React with 👍' }).click();
    await msg(a.page, 'final text').getByRole('button', { name: '👍: 1' }).waitFor();

    await item.hover();
    await item.getByRole('button', { name: 'Reply in thread' }).click();
    const panel = b.page.getByRole('complementary', { name: 'Thread' });
    await panel.getByRole('textbox', { name: 'Reply in the thread' }).fill('a reply in the thread');
    await panel.getByRole('textbox', { name: 'Reply in the thread' }).press('Enter');
    await panel.getByText('a reply in the thread').waitFor();
    await msg(a.page, 'final text').getByRole('button', { name: '1 replies' }).waitFor();
    // Replies stay out of the main timeline.
    expect(await a.page.getByRole('log', { name: /^Messages in/ }).getByText('a reply in the thread').count()).toBe(0);

    await item.hover();
    await item.getByRole('button', { name: 'Report' }).click();
    await item.getByRole('textbox', { name: /Why are you reporting/ }).fill('testing the report flow');
    await item.getByRole('button', { name: 'Report' }).last().click();
    await b.page.getByText('The message was reported to the moderators.').waitFor();
  });

  it('posts a poll that the other person votes in, with live results', async () => {
    await a.page.getByRole('button', { name: 'Create a poll' }).click();
    await a.page.getByLabel('Question').fill('Lunch place?');
    await a.page.getByLabel('Options, one per line').fill('Noodles\nRice');
    await a.page.getByRole('button', { name: 'Post the poll' }).click();
    const poll = b.page.getByRole('log').locator('li.message', { hasText: 'Lunch place?' });
    await poll.getByRole('button', { name: 'Vote for Rice' }).click();
    await a.page.getByRole('log').locator('li.message', { hasText: 'Lunch place?' }).getByText('1 voters').waitFor();
  });

  it('pins a message for everyone', async () => {
    const item = msg(a.page, 'final text');
    await item.hover();
    await item.getByRole('button', { name: 'Pin' }).click();
    await b.page.getByRole('region', { name: 'Pinned' }).getByText('final text').waitFor();
  });

  it('attaches a file with the picker and the other person sees the image', async () => {
    // A 1×1 PNG.
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082', 'hex');
    const chooser = a.page.waitForEvent('filechooser');
    await a.page.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
    const img = b.page.getByRole('log').getByRole('img', { name: 'dot.png' });
    await img.waitFor();
    expect(await img.evaluate((el) => (el as HTMLImageElement).src.startsWith('blob:'))).toBe(true);
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });
});
