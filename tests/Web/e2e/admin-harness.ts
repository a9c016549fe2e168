// Helpers of the admin console's end-to-end tests.
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, type Server } from './harness';

/** Signs in to the admin console (/admin) through its form. */
export async function adminSignIn(page: Page, server: Server, username = 'admin', password = ADMIN_PASSWORD): Promise<void> {
  await page.goto(server.baseUrl + '/admin');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Admin sections' }).waitFor();
}
