import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, newPage, Server, signIn } from './harness';
import { WsClient } from './wsclient';

// Receipts and an urgent acknowledgement between two browser contexts (issue 7b's calls through the UI).
describe('receipts and urgent acknowledgement', () => {
  let server: Server;
  let browser: Browser;
  let a: { context: BrowserContext; page: Page; problems: string[] };
  let b: { context: BrowserContext; page: Page; problems: string[] };

  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    // Urgent messages need a company role (hr by default).
    await server.api('POST', '/v1/admin/users', await server.admin(), { username: 'alice', display_name: 'Alice Anders', password: 'alice-password-1', roles: ['hr'] });
    await server.createUser('bob', 'Bob Brown');
    const alice = await WsClient.connect(server.baseUrl, await server.login('alice', 'alice-password-1'));
    const room = (await alice.call<{ room_id: string }>('rooms.create', { name: 'Floor 3', invite: ['bob@e2e.test'] })).room_id;
    alice.close();
    const bob = await WsClient.connect(server.baseUrl, await server.login('bob', 'bob-password-1'));
    await bob.call('rooms.join', { room });
    bob.close();
    a = await newPage(browser);
    b = await newPage(browser);
    for (const [p, u] of [[a.page, 'alice'], [b.page, 'bob']] as const) {
      await signIn(p, server, u);
      await p.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Floor 3/ }).click();
      await p.getByRole('log').getByText('Bob Brown joined').waitFor();
    }
  });
  afterAll(async () => {
    await a?.context.close();
    await b?.context.close();
    await browser?.close();
    await server?.dispose();
  });

  it('shows who has read a message', async () => {
    const box = a.page.getByRole('textbox', { name: /^Message/ });
    await box.fill('please read this');
    await box.press('Enter');
    await b.page.getByRole('log').getByText('please read this').waitFor();
    const item = a.page.getByRole('log').locator('li.message', { hasText: 'please read this' });
    await item.getByRole('button', { name: 'Read by…' }).click();
    await item.getByRole('button', { name: /^Read by 1 of \d+$/ }).waitFor();
  });

  it('sends an urgent message that the other person must acknowledge', async () => {
    await a.page.getByRole('button', { name: 'Urgent message' }).click();
    await a.page.getByLabel(/^Urgent message \(recipients/).fill('Fire drill at 3 pm, leave by the east stairs');
    await a.page.getByRole('button', { name: 'Send urgent message' }).click();
    const banner = b.page.getByRole('alert', { name: 'Messages waiting for your acknowledgement' });
    await banner.getByText('Fire drill at 3 pm').waitFor();
    await banner.getByRole('button', { name: 'Acknowledge' }).click();
    await banner.waitFor({ state: 'detached' });
    const item = a.page.getByRole('log').locator('li.message', { hasText: 'Fire drill at 3 pm' });
    await item.getByRole('button', { name: 'Acknowledgements' }).click();
    await item.getByText('1 of 1 acknowledged').waitFor();
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });
});
