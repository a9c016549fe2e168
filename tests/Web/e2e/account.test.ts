import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newPage, Server, signIn } from './harness';
import { WsClient } from './wsclient';

describe('account, people and unread counts', () => {
  let server: Server;
  let browser: Browser;
  let bobId = '';
  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    await server.createUser('alice', 'Alice Anders');
    bobId = await server.createUser('bob', 'Bob Brown');
    await server.createUser('carol', 'Carol Chen');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  async function databases(page: Page): Promise<string[]> {
    return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));
  }

  it('sets a first password on the setup-link page, then signs in', async () => {
    const created = await server.api<{ setup_link: string }>('POST', '/v1/admin/users', await server.admin(),
      { username: 'dave', display_name: 'Dave Diaz' });
    const link = new URL(created.setup_link);
    expect(link.pathname).toBe('/setup');
    expect(link.hash).toMatch(/^#token=/);
    const { page, context, problems } = await newPage(browser);
    await page.goto(server.baseUrl + link.pathname + link.hash);
    await page.getByLabel('New password').fill('dave-password-1');
    await page.getByLabel('Repeat the password').fill('dave-password-1');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password is set.').waitFor();
    // The token leaves the address bar.
    expect(page.url()).toBe(server.baseUrl + '/');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await signIn(page, server, 'dave', 'dave-password-1');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('finds a person in the directory and starts a DM from the profile', async () => {
    const { page, context } = await newPage(browser);
    await signIn(page, server, 'alice');
    await page.getByRole('button', { name: 'People' }).click();
    await page.getByRole('searchbox', { name: 'Search people' }).fill('car');
    await page.getByRole('button', { name: /Carol Chen/ }).click();
    await page.getByRole('article', { name: 'Profile of Carol Chen' }).getByRole('button', { name: 'Send a message' }).click();
    const box = page.getByRole('textbox', { name: /^Message/ });
    await box.fill('Hi Carol, a direct message');
    await box.press('Enter');
    await page.getByRole('log').getByText('Hi Carol, a direct message').waitFor();
    // Carol has the invitation to the direct room.
    const carol = await WsClient.connect(server.baseUrl, await server.login('carol', 'carol-password-1'));
    const rooms = await carol.call<{ kind: string; membership: string }[]>('rooms.list', {});
    expect(rooms.some((r) => r.kind === 'direct' && r.membership === 'invite')).toBe(true);
    carol.close();
    await context.close();
  });

  it('shows the server unread count in the room list and the page title, and clears it on reading', async () => {
    const alice = await WsClient.connect(server.baseUrl, await server.login('alice', 'alice-password-1'));
    const room = (await alice.call<{ room_id: string }>('rooms.create', { name: 'Unread test', invite: [bobId] })).room_id;
    const bob = await WsClient.connect(server.baseUrl, await server.login('bob', 'bob-password-1'));
    await bob.call('rooms.join', { room });
    bob.close();
    const { page, context } = await newPage(browser);
    await signIn(page, server, 'bob');
    for (let i = 1; i <= 3; i++) await alice.send(room, `unread ${i}`);
    const item = page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: 'Unread test, 3 unread' });
    await item.waitFor();
    await page.waitForFunction(() => document.title === '(3) TeamComms');
    await item.click();
    await page.getByRole('log').getByText('unread 3').waitFor();
    await page.waitForFunction(() => document.title === 'TeamComms');
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: 'Unread test', exact: true }).waitFor();
    // The server agrees: the marker moved.
    const check = await WsClient.connect(server.baseUrl, await server.login('bob', 'bob-password-1'));
    const r = await check.call<{ unread: number }>('rooms.get', { room });
    expect(r.unread).toBe(0);
    check.close();
    alice.close();
    await context.close();
  });

  it('lists my sessions and revokes another one', async () => {
    await server.login('alice', 'alice-password-1');
    const { page, context } = await newPage(browser);
    await signIn(page, server, 'alice');
    await page.getByRole('button', { name: 'My sessions' }).click();
    const rows = page.getByRole('row');
    await page.getByText('(This browser)').waitFor();
    const before = await rows.count();
    expect(before).toBeGreaterThanOrEqual(3); // header, this browser, the other session
    const revoke = page.getByRole('row').filter({ hasNotText: 'This browser' }).getByRole('button', { name: /^Revoke the session/ });
    const n = await revoke.count();
    await revoke.first().click();
    await page.getByText('The session was revoked.').waitFor({ state: 'attached' });
    await expect.poll(() => page.getByRole('row').filter({ hasNotText: 'This browser' }).getByRole('button', { name: /^Revoke the session/ }).count()).toBe(n - 1);
    await context.close();
  });

  it('is wiped and signed out when an admin deactivates the user', async () => {
    const { page, context } = await newPage(browser);
    await signIn(page, server, 'bob');
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Unread test/ }).click();
    await page.getByRole('log').getByText('unread 3').waitFor();
    await expect.poll(() => databases(page)).toContain('teamcomms');
    expect(await page.evaluate(() => localStorage.getItem('tc.session'))).not.toBeNull();

    await server.api('POST', `/v1/admin/users/${encodeURIComponent(bobId)}/deactivate`, await server.admin(), { reason: 'left the company' });

    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByText(/You were signed out: wiped/).waitFor();
    expect(await databases(page)).not.toContain('teamcomms');
    expect(await page.evaluate(() => localStorage.getItem('tc.session'))).toBeNull();
    await context.close();
  });
});
