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

    // IME: an Enter that belongs to a composition never sends (isComposing, or keyCode 229).
    const box = b.page.getByRole('textbox', { name: /^Message/ });
    await box.fill('half-composed ภาษาไ');
    for (const init of [{ isComposing: true, keyCode: 13 }, { isComposing: false, keyCode: 229 }]) {
      await box.evaluate((el, i) => el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, ...i })), init);
    }
    expect(await box.inputValue()).toBe('half-composed ภาษาไ');
    await box.press('Enter');
    await a.page.getByRole('log').getByText('half-composed ภาษาไ').waitFor();
    expect(await a.page.getByRole('log').getByText('half-composed ภาษาไ').count()).toBe(1);

    // Keyboard: arrows move through the room list and through the messages.
    await a.page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /Project Apollo/ }).focus();
    await a.page.keyboard.press('End');
    await a.page.keyboard.press('Home');
    expect(await a.page.evaluate(() => document.activeElement?.getAttribute('data-room'))).toMatch(/^!/);
    await a.page.getByRole('log').focus();
    await a.page.keyboard.press('ArrowUp');
    expect(await a.page.evaluate(() => document.activeElement?.textContent)).toContain('half-composed');
    await a.page.keyboard.press('ArrowUp');
    expect(await a.page.evaluate(() => document.activeElement?.textContent)).toContain('Hi Alice');

    // The owner archives the room: it becomes read-only for Bob, live.
    await a.page.getByRole('button', { name: 'Archive' }).click();
    await b.page.getByText('This room is archived and read-only.').waitFor();
    expect(await b.page.getByRole('textbox', { name: /^Message/ }).count()).toBe(0);

    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
    await a.context.close();
    await b.context.close();
  });

  it('switches the UI to Thai, with Thai dates in the Gregorian calendar by default', async () => {
    const { page, context } = await newPage(browser);
    await page.goto(server.baseUrl + '/');
    await page.getByLabel('Language').selectOption('th');
    await page.getByLabel('ชื่อผู้ใช้').fill('alice');
    await page.getByLabel('รหัสผ่าน').fill('alice-password-1');
    await page.getByRole('button', { name: 'เข้าสู่ระบบ' }).click();
    await page.getByRole('navigation', { name: 'ห้อง' }).getByRole('button', { name: /Project Apollo/ }).click();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('th');
    const year = new Date().getFullYear();
    await page.getByRole('log').locator('.day').first().waitFor();
    expect(await page.getByRole('log').locator('.day').first().innerText()).toContain(String(year));
    await page.getByRole('button', { name: 'ตั้งค่า' }).click();
    await page.getByLabel('แสดงปีพุทธศักราช').check();
    await page.getByRole('navigation', { name: 'ห้อง' }).getByRole('button', { name: /Project Apollo/ }).click();
    await page.waitForFunction((y) => document.querySelector('[role=log] .day')?.textContent?.includes(String(y)), year + 543);
    await context.close();
  });
});
