// Measurements of the web client for docs/benchmarks.md (not tests: nothing is asserted about speed).
//   cd tests/Web && npx vitest run --project bench
// Needs the Release server (dotnet build src/Server -c Release). Writes bench/results/web.json at the repo root.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, repoRoot, Server } from '../e2e/harness';
import { WsClient } from '../e2e/wsclient';

const ROOMS = Number(process.env.BENCH_ROOMS ?? 1000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10000);
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model,
  load_average_at_start: loadavg(),
};

function stats(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    count: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s[s.length - 1],
    over_20ms: s.filter((x) => x > 20).length, over_50ms: s.filter((x) => x > 50).length,
  };
}

describe('web client measurements', () => {
  let server: Server;
  let browser: Browser;
  beforeAll(async () => {
    server = await Server.start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    results.load_average_at_end = loadavg();
    mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
    writeFileSync(join(repoRoot, 'bench/results/web.json'), JSON.stringify(results, null, 2));
    console.log(JSON.stringify(results, null, 2));
  });

  it(`navigation to an interactive room list for a user in ${ROOMS} rooms`, async () => {
    await server.createUser('many', 'Many Rooms');
    const token = await server.login('many', 'many-password-1');
    const c = await WsClient.connect(server.baseUrl, token);
    const t0 = performance.now();
    for (let i = 0; i < ROOMS; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, ROOMS - i) }, (_, j) => c.call('rooms.create', { name: `Room ${i + j + 1}` })));
    }
    results.rooms_seed_seconds = (performance.now() - t0) / 1000;
    c.close();
    const runs: { cold: number[]; warm: number[] } = { cold: [], warm: [] };
    for (let run = 0; run < 5; run++) {
      const context = await browser.newContext();
      // Signed in already (the token in localStorage, as after a sign-in), so the measure is the app's own start.
      const userId = `many@e2e.test`;
      await context.addInitScript(([tok, uid]) => {
        if (!localStorage.getItem('tc.session')) localStorage.setItem('tc.session', JSON.stringify({ token: tok, userId: uid, sessionId: 'x' }));
      }, [token, userId]);
      const page = await context.newPage();
      for (const kind of ['cold', 'warm'] as const) {
        await page.goto(server.baseUrl + '/');
        await page.waitForFunction((n) => document.querySelectorAll('nav button.room').length === n
          && performance.getEntriesByName('teamcomms:room-list').length > 0, ROOMS);
        const ms = await page.evaluate(() => performance.getEntriesByName('teamcomms:room-list')[0].startTime);
        runs[kind].push(ms);
        // Interactive: a click on a room opens it.
        await page.locator('nav button.room').first().click();
        await page.getByRole('log').waitFor();
      }
      await context.close();
    }
    results.room_list_1000 = { rooms: ROOMS, cold_ms: stats(runs.cold), warm_ms: stats(runs.warm), raw: runs };
  });

  it(`frame times while scrolling through ${MESSAGES} messages`, async () => {
    await server.createUser('writer', 'Writer');
    await server.createUser('reader', 'Reader');
    const w = await WsClient.connect(server.baseUrl, await server.login('writer', 'writer-password-1'));
    const room = (await w.call<{ room_id: string }>('rooms.create', { name: 'Ten thousand', invite: ['reader@e2e.test'] })).room_id;
    const t0 = performance.now();
    await w.sendMany(room, MESSAGES, (i) => `message ${i + 1}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 5))}${i % 11 === 0 ? '\nsecond line' : ''}`);
    results.messages_seed_seconds = (performance.now() - t0) / 1000;
    w.close();
    const readerToken = await server.login('reader', 'reader-password-1');
    const r = await WsClient.connect(server.baseUrl, readerToken);
    await r.call('rooms.join', { room });
    r.close();

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(([tok]) => {
      localStorage.setItem('tc.session', JSON.stringify({ token: tok, userId: 'reader@e2e.test', sessionId: 'x' }));
    }, [readerToken]);
    const page = await context.newPage();
    await page.goto(server.baseUrl + '/');
    await page.locator('nav button.room').first().click();
    await page.getByRole('log').locator('li[data-seq]').first().waitFor();

    // Upward, loading every older page on the way (100 events a page), 150 px per frame like a fast wheel.
    const up = await page.evaluate(async () => {
      const log = document.querySelector('[role=log]') as HTMLElement;
      const frames: number[] = [];
      let last = performance.now();
      const start = performance.now();
      while (!(document.querySelector('.timeline-start') && log.scrollTop === 0)) {
        log.scrollTop = Math.max(0, log.scrollTop - 150);
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        frames.push(now - last);
        last = now;
        if (now - start > 600_000) break;
      }
      return { frames, seconds: (performance.now() - start) / 1000, items: log.querySelector('li[data-seq]')?.getAttribute('aria-setsize') };
    });
    // Downward through the whole loaded timeline (virtualized: no network), 150 px per frame.
    const down = await page.evaluate(async () => {
      const log = document.querySelector('[role=log]') as HTMLElement;
      const frames: number[] = [];
      let last = performance.now();
      const start = performance.now();
      while (log.scrollTop + log.clientHeight < log.scrollHeight - 2) {
        log.scrollTop += 150;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        frames.push(now - last);
        last = now;
        if (now - start > 600_000) break;
      }
      return { frames, seconds: (performance.now() - start) / 1000, dom_items: log.querySelectorAll('li').length };
    });
    results.scroll_10000 = {
      messages: MESSAGES,
      up_with_paging: { frame_ms: stats(up.frames), seconds: up.seconds, loaded: up.items },
      down_loaded: { frame_ms: stats(down.frames), seconds: down.seconds, dom_items_at_end: down.dom_items },
    };
    await context.close();
  });
});
