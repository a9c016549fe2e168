import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newPage, Server, signIn } from './harness';

// Two people in two browser contexts: sign in, create a room with an invitation, join, exchange messages.
describe('chat between two browser contexts', () => {
  let server: Server;
  let browser: Browser;
  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    await server.createUser('alice', 'Alice Anders');
    await server.createUser('bob', 'Bob Brown');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  async function send(page: Page, text: string) {
    const box = page.getByRole('textbox', { name: /^Message/ });
    await box.fill(text);
    await box.press('Enter');
  }

  it('creates a room, invites, joins and exchanges messages both ways', async () => {
    const a = await newPage(browser);
    const b = await newPage(browser);
    await signIn(a.page, server, 'alice');
    await signIn(b.page, server, 'bob');

    await a.page.getByRole('button', { name: 'New room' }).click();
    await a.page.getByLabel('Name', { exact: true }).fill('Project Apollo');
    await a.page.getByLabel(/^Invite/).fill('bob');
    await a.page.getByRole('button', { name: 'Create' }).click();
    await a.page.getByRole('heading', { name: 'Project Apollo' }).waitFor();

    // Bob sees the invitation live (no reload) and joins.
    const invite = b.page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /Project Apollo, Invitation/ });
    await invite.click();
    await b.page.getByRole('button', { name: 'Join' }).click();
    await b.page.getByRole('textbox', { name: /^Message/ }).waitFor();

    await send(a.page, 'Hello Bob');
    const bobLog = b.page.getByRole('log');
    await bobLog.getByText('Hello Bob').waitFor();
    await send(b.page, 'Hi Alice');
    await a.page.getByRole('log').getByText('Hi Alice').waitFor();

    // Messages are list items inside the log, in order.
    const items = await bobLog.getByRole('listitem').allInnerTexts();
    const hello = items.findIndex((x) => x.includes('Hello Bob'));
    const hi = items.findIndex((x) => x.includes('Hi Alice'));
    expect(hello).toBeGreaterThanOrEqual(0);
    expect(hi).toBeGreaterThan(hello);
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
    await a.context.close();
    await b.context.close();
  });
});
