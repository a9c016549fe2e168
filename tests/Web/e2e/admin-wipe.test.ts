// An admin deactivates a user whose client page is open: the server closes the user's connections with Wipe, and the
// client deletes its IndexedDB cache and its stored session (the client side is shared/cache.ts and the client entry).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSignIn } from './admin-harness';
import { launchChromium, newPage, Server, signIn } from './harness';

describe('admin console: deactivation wipes an open client', () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    await server.createUser('carol', 'Carol Client');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('deactivating a user wipes their open client page (IndexedDB gone) and signs it out', async () => {
    const client = await newPage(browser);
    await signIn(client.page, server, 'carol');
    const databases = () => client.page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    await expect.poll(databases).toContain('teamcomms');

    const admin = await newPage(browser);
    await adminSignIn(admin.page, server);
    await admin.page.getByLabel('Search people').fill('carol');
    await admin.page.getByRole('button', { name: 'Open Carol Client' }).click();
    await admin.page.getByRole('button', { name: 'Deactivate' }).click();
    await admin.page.getByLabel('Reason').fill('left the company');
    await admin.page.getByRole('button', { name: 'Deactivate: Carol Client' }).click();
    await admin.page.getByText('Carol Client is deactivated').waitFor();

    await client.page.getByLabel(/username|ชื่อผู้ใช้/i).waitFor();
    await expect.poll(databases).not.toContain('teamcomms');
    expect(await client.page.evaluate(() => localStorage.getItem('tc.session'))).toBeNull();
    await admin.context.close();
    await client.context.close();
  });
});
