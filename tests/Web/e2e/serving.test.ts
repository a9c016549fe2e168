import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, newPage, Server } from './harness';

// The server serves the built app with a strict Content-Security-Policy, and the app runs under it.
describe('serving', () => {
  let server: Server;
  let browser: Browser;
  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('serves / and /admin with a strict CSP (no inline script, no eval)', async () => {
    for (const path of ['/', '/admin', '/admin/users', '/setup']) {
      const res = await fetch(server.baseUrl + path);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toContain("default-src 'none'");
      const html = await res.text();
      // No inline script: every <script> has a src.
      expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    }
  });

  it('runs the client and the admin entry under the policy without errors', async () => {
    for (const path of ['/', '/admin']) {
      const { context, page, problems } = await newPage(browser);
      await page.goto(server.baseUrl + path);
      await page.locator('#app > *').first().waitFor();
      expect(problems).toEqual([]);
      await context.close();
    }
  });
});
