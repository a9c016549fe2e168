// End-to-end harness: the real TeamComms server as an OS process (the built Release output, a temporary data
// directory, a free port on 127.0.0.1) and Debian's Chromium driven by playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const repoRoot = resolve(import.meta.dirname, '../../..');
export const serverDll = process.env.TEAMCOMMS_SERVER_DLL
  ?? join(repoRoot, 'src/Server/bin/Release/net10.0/TeamComms.Server.dll');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags the issue prescribes; launch() also gives every browser a fresh temporary user-data directory. */
export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

export const ADMIN_PASSWORD = 'admin-password-for-e2e';

export class Server {
  private child: ChildProcess | null = null;
  readonly output: string[] = [];
  baseUrl = '';

  constructor(readonly dataDir: string, readonly port: number) {}

  static async start(): Promise<Server> {
    if (!existsSync(serverDll)) {
      throw new Error(`${serverDll} is missing: build the server first (dotnet build src/Server -c Release)`);
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'teamcomms-e2e-'));
    const server = new Server(dataDir, await freePort());
    await server.launch();
    return server;
  }

  /** Starts (or restarts, on the same port and data) the server process and waits for /healthz. */
  async launch(): Promise<void> {
    const child = spawn('dotnet', [serverDll, '--urls', `http://127.0.0.1:${this.port}`, '--data', this.dataDir], {
      env: {
        ...process.env,
        TEAMCOMMS__SERVERNAME: 'e2e.test',
        TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD: ADMIN_PASSWORD,
        TEAMCOMMS__ACCOUNTS__ARGON2MEMORYKIB: '8',
        TEAMCOMMS__ACCOUNTS__ARGON2PASSES: '1',
        TEAMCOMMS__STORAGE__MINFREEBYTES: '0',
        TEAMCOMMS__CONNECTIONS__FRAMESPERSECOND: '100000',
        TEAMCOMMS__CONNECTIONS__FRAMEBURST: '100000',
        DOTNET_gcServer: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const onData = (d: Buffer) => this.output.push(...d.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${this.output.join('\n')}`))));
    await Promise.race([exited, this.waitHealthy()]);
  }

  private async waitHealthy(): Promise<void> {
    for (;;) {
      try {
        const res = await fetch(`${this.baseUrl}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      // Polling the server's readiness, not waiting for a timer in the app under test.
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the process (SIGTERM: a graceful shutdown closes WebSockets with 1001). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await done;
    this.child = null;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async api<T = unknown>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async login(username: string, password: string): Promise<string> {
    return (await this.api<{ access_token: string }>('POST', '/v1/login', undefined, { username, password })).access_token;
  }

  private adminToken: string | null = null;

  async admin(): Promise<string> {
    this.adminToken ??= await this.login('admin', ADMIN_PASSWORD);
    return this.adminToken;
  }

  /** Creates a user with a password through the admin API; returns the user id. */
  async createUser(username: string, displayName: string, password = `${username}-password-1`): Promise<string> {
    const r = await this.api<{ user: { user_id: string } }>('POST', '/v1/admin/users', await this.admin(),
      { username, display_name: displayName, password });
    return r.user.user_id;
  }
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install chromium (test.sh does)`);
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/** Collects console errors and CSP violations of a page, so tests can assert there were none. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/** Signs a user in through the UI. */
export async function signIn(page: Page, server: Server, username: string, password = `${username}-password-1`): Promise<void> {
  await page.goto(server.baseUrl + '/');
  await page.getByLabel(/username|ชื่อผู้ใช้/i).fill(username);
  await page.getByLabel(/password|รหัสผ่าน/i).fill(password);
  await page.getByRole('button', { name: /sign in|เข้าสู่ระบบ/i }).click();
  await page.getByRole('navigation', { name: /rooms|ห้อง/i }).waitFor();
}

export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: 'en-GB', timezoneId: 'Asia/Bangkok' });
  const page = await context.newPage();
  return { context, page, problems: watchPage(page) };
}
