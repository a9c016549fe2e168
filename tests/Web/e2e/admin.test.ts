// The admin console in Chromium against the real server: sign-in, the users screen (last login, filters, create),
// sections per role, the live rule preview, deactivation of a user whose client page is open (the page is wiped and
// signed out: admin-wipe.test.ts), and an axe scan of the users page at WCAG 2.1 A and AA.
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSignIn } from './admin-harness';
import { launchChromium, newPage, Server } from './harness';

function row(page: Page, userId: string) {
  return page.locator(`tr[data-user="${userId}"]`);
}

describe('admin console', () => {
  let server: Server;
  let browser: Browser;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
    const admin = await server.admin();
    for (const [username, name, department] of [['ann', 'Ann Nurse', 'Nursing'], ['neville', 'Neville Never', 'Kitchen'], ['carol', 'Carol Client', 'Sales']]) {
      ids[username] = (await server.api<{ user: { user_id: string } }>('POST', '/v1/admin/users', admin,
        { username, display_name: name, department, password: `${username}-password-1` })).user.user_id;
    }
    ids.hana = (await server.api<{ user: { user_id: string } }>('POST', '/v1/admin/users', admin,
      { username: 'hana', display_name: 'Hana HR', roles: ['hr'], password: 'hana-password-1' })).user.user_id;
    await server.login('ann', 'ann-password-1');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('lists users with last login and filters, creates a user, and the users page passes axe (WCAG 2.1 A/AA)', async () => {
    const { context, page, problems } = await newPage(browser);
    await adminSignIn(page, server);
    await page.getByRole('link', { name: 'Users' }).click();
    await row(page, ids.ann).waitFor();
    await expect.poll(() => row(page, ids.neville).locator('td').last().textContent()).toBe('Never');
    expect(await row(page, ids.ann).locator('td').last().locator('time').count()).toBe(1);

    await page.getByLabel('Never logged in').check();
    await row(page, ids.ann).waitFor({ state: 'detached' });
    await row(page, ids.neville).waitFor();
    await page.getByLabel('Never logged in').uncheck();
    await page.getByLabel('Search people').fill('nursing');
    await row(page, ids.neville).waitFor({ state: 'detached' });
    await row(page, ids.ann).waitFor();
    await page.getByLabel('Search people').fill('');

    // Create without a password: the answer is a setup link, shown once, with the token in the fragment.
    await page.getByLabel('Username', { exact: true }).fill('dora');
    await page.getByLabel('Display name').fill('Dora Doctor');
    await page.getByLabel('Department').fill('Surgery');
    await page.getByRole('button', { name: 'Create a user' }).click();
    await page.getByText('Created dora.').waitFor();
    expect(await page.locator('code.secret').textContent()).toMatch(/\/setup#token=tcs_/);
    await page.locator('tr[data-user^="dora@"]').waitFor();

    // Open a user's details (profile editing, roles, devices) and scan the page as an admin sees it.
    await page.getByRole('button', { name: 'Open Ann Nurse' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    // Ann logged in once over the API (beforeAll): one device, with revoke and revoke-and-wipe.
    await page.getByRole('button', { name: 'Revoke and wipe' }).waitFor();
    const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    expect(problems).toEqual([]);
    // The token is in sessionStorage, never in the URL.
    expect(page.url()).not.toContain('tc_');
    await context.close();
  });

  it('shows an HR officer only the sections HR may use, and the server refuses the rest', async () => {
    const { context, page } = await newPage(browser);
    await adminSignIn(page, server, 'hana', 'hana-password-1');
    const nav = page.getByRole('navigation', { name: 'Admin sections' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Users', 'Roles', 'Incident inbox']);
    await row(page, ids.ann).waitFor();
    await page.getByRole('button', { name: 'Open Ann Nurse' }).click();
    await page.getByRole('region', { name: 'Edit Ann Nurse' }).getByLabel('Job title').fill('Charge nurse');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Saved.').waitFor();
    const edited = await server.api<{ title: string }>('GET', `/v1/admin/users/${encodeURIComponent(ids.ann)}`, await server.admin());
    expect(edited.title).toBe('Charge nurse');
    expect(await page.getByRole('heading', { name: 'Devices' }).count()).toBe(0);
    expect(await page.getByLabel('Company roles (comma-separated)').count()).toBe(0);
    const hr = await server.login('hana', 'hana-password-1');
    await expect(server.api('GET', '/v1/admin/audit', hr)).rejects.toThrow(/403/);
    await expect(server.api('GET', '/v1/admin/figures', hr)).rejects.toThrow(/403/);
    await context.close();
  });

  it('previews the people a smart-group rule matches while it is typed, without saving it', async () => {
    const { context, page } = await newPage(browser);
    await adminSignIn(page, server);
    await page.getByRole('link', { name: 'Smart groups' }).click();
    await page.getByLabel('Rule', { exact: true }).fill('department = Nursing');
    await page.getByTestId('preview-count').filter({ hasText: '1 people match' }).waitFor();
    expect(await page.locator('#rule-preview li').allTextContents()).toEqual(['Ann Nurse · Nursing · Charge nurse']); // titled by the HR test
    await page.getByLabel('Rule', { exact: true }).fill('department = ');
    await page.locator('#rule-preview .error').waitFor();
    const rules = await server.api<{ rules: unknown[] }>('GET', '/v1/admin/rules', await server.admin());
    expect(rules.rules).toEqual([]);
    await context.close();
  });

  it('shows the server figures with backup and escrow status', async () => {
    const { context, page } = await newPage(browser);
    await adminSignIn(page, server);
    await page.getByRole('link', { name: 'Server' }).click();
    await page.getByText('Uptime').waitFor();
    const text = await page.locator('.admin-figures').textContent();
    expect(text).toContain('Connections');
    expect(text).toMatch(/Escrow/);
    await context.close();
  });

  it('filters and pages the audit log, exports it, and shows the chain verification status', async () => {
    const { context, page } = await newPage(browser);
    await adminSignIn(page, server);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByTestId('audit-verify').filter({ hasText: 'The hash chain verifies' }).waitFor();
    await page.getByLabel('Action').fill('user.create');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(async () => new Set(await page.locator('.admin-table tbody tr td:nth-child(4)').allTextContents())).toEqual(new Set(['user.create']));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
    expect(csv.split('\r\n')[0]).toBe('seq,time,actor,action,target,address,details,prev,hash');
    expect(csv).toContain(ids.ann);
    expect(csv).not.toContain('user.setup_link');
    await context.close();
  });

  it('lists rooms and archives one', async () => {
    const admin = await server.admin();
    const room = (await server.api<{ room_id: string }>('POST', '/v1/admin/rooms', admin, { name: 'Night shift' })).room_id;
    const { context, page } = await newPage(browser);
    await adminSignIn(page, server);
    await page.getByRole('link', { name: 'Rooms' }).click();
    await page.getByLabel('Filter by name').fill('night');
    await page.getByRole('button', { name: 'Archive Night shift', exact: true }).click();
    await page.getByRole('status').or(page.getByRole('alert')).filter({ hasText: /./ }).first().waitFor();
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    await page.getByRole('button', { name: 'Archive Night shift', exact: true }).waitFor({ state: 'detached' });
    const archived = await server.api<{ rooms: { room_id: string }[] }>('GET', '/v1/admin/rooms?archived=true', admin);
    expect(archived.rooms.map((r) => r.room_id)).toContain(room);
    await context.close();
  });

  it('imports a CSV file: the dry run lists the changes and applies nothing, then the import applies them', async () => {
    const { context, page } = await newPage(browser);
    await adminSignIn(page, server);
    await page.getByLabel('CSV file (HR export)').setInputFiles({
      name: 'people.csv', mimeType: 'text/csv',
      buffer: Buffer.from('username,display_name,department\nsomchai,สมชาย ใจดี,Nursing\nann,Ann Nurse,Surgery\n', 'utf8'),
    });
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByText('Dry run: nothing was changed.').waitFor();
    expect(await page.locator('dl').textContent()).toContain('somchai@e2e.test');
    const admin = await server.admin();
    const before = await server.api<{ users: unknown[] }>('GET', '/v1/admin/users?q=somchai', admin);
    expect(before.users).toEqual([]);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Applied.').waitFor();
    const after = await server.api<{ users: { display_name: string }[] }>('GET', '/v1/admin/users?q=somchai', admin);
    expect(after.users.map((u) => u.display_name)).toEqual(['สมชาย ใจดี']);
    const ann = await server.api<{ department: string }>('GET', `/v1/admin/users/${encodeURIComponent(ids.ann)}`, admin);
    expect(ann.department).toBe('Surgery');
    await context.close();
  });

  it('places and releases a legal hold as a compliance officer, who sees only the audit log, retention, exports and approvals', async () => {
    const admin = await server.admin();
    await server.api('POST', '/v1/admin/users', admin, { username: 'cora', display_name: 'Cora Compliance', roles: ['compliance_officer'], password: 'cora-password-1' });
    const { context, page } = await newPage(browser);
    await adminSignIn(page, server, 'cora', 'cora-password-1');
    const nav = page.getByRole('navigation', { name: 'Admin sections' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Audit log', 'Retention and legal holds', 'Compliance exports', 'Approvals']);
    await nav.getByRole('link', { name: 'Retention and legal holds' }).click();
    // The company policy is shown read-only: changing it is for admins.
    expect(await page.getByLabel('Keep messages (days; 0: forever)').getAttribute('readonly')).not.toBeNull();
    await page.getByLabel('Person or room').fill(ids.neville);
    await page.getByLabel('Reason', { exact: true }).fill('litigation 2026-17');
    await page.getByRole('button', { name: 'Place hold' }).click();
    const row = page.locator('tr', { hasText: 'litigation 2026-17' });
    await row.getByText('Active').waitFor();
    await row.getByRole('button', { name: /Release/ }).click();
    await row.getByText('Released').waitFor();
    const holds = await server.api<{ holds: { target: string; released: boolean; created_by: string }[] }>('GET', '/v1/admin/legal-holds', admin);
    expect(holds.holds.map((h) => [h.target, h.released])).toEqual([[ids.neville, true]]);
    // Exports need an approved export recipient first; until then the console says so and offers the request.
    await nav.getByRole('link', { name: 'Compliance exports' }).click();
    await page.getByText('No export recipient yet').waitFor();
    expect(await page.getByRole('button', { name: 'Create export' }).isDisabled()).toBe(true);
    await nav.getByRole('link', { name: 'Approvals' }).click();
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await context.close();
  });
});
