/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real platform
 * in-process, with the dashboard built first when its build is older than its sources (the build
 * itself fails over the initial-JS budget).
 * Screenshots go to test-artifacts/ (gitignored); a failed test closes its page after its screenshot,
 * so its live streams do not slow the tests after it on a loaded machine.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pglite } from '../support/engines.ts';
import { ADMIN_TOKEN, DEMO_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const ARTIFACTS = 'test-artifacts';
let platform: TestPlatform;
let base: string;
/** The browser reaches the platform through a proxy the test can cut. */
let proxy: TcpProxy;
let pageBase: string;
let browser: Browser;
/** WebSocket frames the pages received as binary (MessagePack) and as text. */
const frames = { binary: 0, text: 0 };
let socketsOpened = 0;
/** Every page's WebSocket lifecycle, printed when a test fails (the search test's stream once stayed `connecting` 25 s). */
const socketLog: string[] = [];
const logSocket = (what: string) => socketLog.push(`${new Date().toISOString().slice(11, 23)} ${what}`);

beforeAll(async () => {
  // NODE_ENV is vitest's `test` here: the build must not inherit it (it would bundle libraries' development builds).
  const env = { ...process.env, NODE_ENV: 'production' };
  if (!builtFromSources()) await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn'], { env });
  mkdirSync(ARTIFACTS, { recursive: true });
  // Ticks fast enough that AAPL's quote moves within a second or two.
  platform = await startTestPlatform(pglite, { market: { ...(await import('../../src/config/config.ts')).testConfig().market, tickRate: 500 } });
  base = await platform.platform.listen();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(base).port) }, { from: 29100, to: 29199 });
  pageBase = `http://127.0.0.1:${proxy.port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await platform?.close();
});

/** dist/index.html newer than every source of the dashboard (the build writes it last but one: precompression follows). */
function builtFromSources(): boolean {
  const built = statSync('dashboard/dist/index.html', { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = ['dashboard/index.html', 'dashboard/vite.config.ts', 'package.json', ...['dashboard/src', 'dashboard/build'].flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)))];
  return sources.every((file) => statSync(file).mtimeMs < built);
}

async function signIn(token: string, hash = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // The page's own errors, in the test output when a step times out.
  // A missing element fails the step within the test's time, not after Playwright's 30 s default.
  page.setDefaultTimeout(10_000);
  page.on('websocket', (ws) => {
    socketsOpened++;
    const id = socketsOpened;
    logSocket(`ws ${id} created ${ws.url()}`);
    let first = true;
    ws.on('framereceived', (frame) => {
      if (first) logSocket(`ws ${id} first frame`);
      first = false;
      return typeof frame.payload === 'string' ? frames.text++ : frames.binary++;
    });
    ws.on('socketerror', (error) => logSocket(`ws ${id} error ${error}`));
    ws.on('close', () => logSocket(`ws ${id} closed`));
  });
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(`${pageBase}/dashboard${hash}`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  return page;
}

describe('dashboard', () => {
  it('serves the shell revalidated and hashed assets pre-compressed, immutable, by Accept-Encoding', async () => {
    const shell = await fetch(`${base}/dashboard`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('cache-control')).toBe('no-cache');
    expect(shell.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await shell.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const entry = /src="(\/dashboard\/assets\/index-[^"]+\.js)"/.exec(html)![1]!;

    const br = await fetch(`${base}${entry}`, { headers: { 'accept-encoding': 'br' }, decompress: false } as RequestInit);
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(br.headers.get('vary')).toMatch(/accept-encoding/i);
    const gzip = await fetch(`${base}${entry}`, { headers: { 'accept-encoding': 'gzip, br;q=0' } });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(await gzip.text()).toContain('tachyon.token');
    expect((await fetch(`${base}/dashboard/assets/nope.js`)).status).toBe(404);
  });

  it('a trader sees quotes tick, places a market order and sees it filled and the position, cancels a resting order; the performance view is refused', async ({ onTestFailed }) => {
    const page = await signIn(DEMO_TOKEN);
    onTestFailed(() => page.screenshot({ path: `${ARTIFACTS}/dashboard-trading-failed.png`, fullPage: true }).then(() => page.close()));
    const row = page.locator('[data-testid=watchlist] tr[data-symbol=AAPL]');
    // The first load compiles the view and the watchlist's snapshot arrives: allow for a loaded machine.
    await expect.poll(() => row.getAttribute('data-stale'), { timeout: 25_000 }).toBe('false');
    const first = await row.locator('[data-testid=last]').textContent();
    await expect.poll(() => row.locator('[data-testid=last]').textContent(), { timeout: 15_000 }).not.toBe(first);
    expect(frames).toMatchObject({ text: 0 });
    expect(frames.binary).toBeGreaterThan(0);
    expect(page.url()).not.toContain(DEMO_TOKEN.slice(0, 8));

    // The connection drops: quotes are marked stale; once the server is back the page reconnects, resubscribes, and quotes move again.
    const opened = socketsOpened;
    await proxy.cut();
    await expect.poll(() => row.getAttribute('data-stale'), { timeout: 10_000 }).toBe('true');
    expect(await page.locator('[data-testid=connection]').textContent()).not.toBe('live');
    await proxy.restore();
    await expect.poll(() => page.locator('[data-testid=connection]').textContent(), { timeout: 20_000 }).toBe('live');
    expect(socketsOpened).toBeGreaterThan(opened);
    const afterReconnect = await row.locator('[data-testid=last]').textContent();
    await expect.poll(() => row.locator('[data-testid=last]').textContent(), { timeout: 15_000 }).not.toBe(afterReconnect);
    await expect.poll(() => row.getAttribute('data-stale'), { timeout: 5_000 }).toBe('false');

    await page.fill('input[name=quantity]', '3');
    await page.click('form[aria-label="order ticket"] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=ticket-message]').textContent(), { timeout: 10_000 }).toMatch(/^Order \d+ filled$/);
    const orderId = /Order (\d+)/.exec((await page.locator('[data-testid=ticket-message]').textContent())!)![1]!;
    await expect.poll(() => page.locator(`[data-testid=orders] tr[data-order-id="${orderId}"]`).textContent(), { timeout: 10_000 }).toContain('filled');
    await expect.poll(() => page.locator('[data-testid=positions] tr[data-symbol=AAPL] td:nth-child(2)').textContent(), { timeout: 10_000 }).toBe('3');

    // A refusal is shown as the server words it: the same request through the API gives the text.
    await page.fill('input[name=quantity]', '900000000');
    await page.click('form[aria-label="order ticket"] button[type=submit]');
    const refused = await fetch(`${base}/api/orders`, {
      method: 'POST',
      headers: { ...platform.trader, 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'AAPL', side: 'buy', type: 'market', quantity: 900000000, timeInForce: 'day' }),
    });
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as { detail: string; code: string };
    // The figures follow the live price between the two requests; the words are the server's.
    const words = (text: string | null) => text?.replace(/\d[\d.,]*/g, '#');
    await expect.poll(async () => words(await page.locator('[data-testid=ticket-message]').textContent()), { timeout: 10_000 }).toBe(words(`${problem.detail} (${problem.code})`));

    // A limit order below the market rests open until cancelled; an off-tick price never leaves the page.
    await page.selectOption('select[name=type]', 'limit');
    await page.fill('input[name=quantity]', '2');
    await page.fill('input[name=limitPrice]', '100.001');
    await page.click('form[aria-label="order ticket"] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=ticket-message]').textContent()).toMatch(/multiple of the tick size/);
    // 5% below the market: inside the server's price collar, far from filling.
    const below = Math.floor(Number(await row.locator('[data-testid=last]').textContent()) * 95) / 100;
    await page.fill('input[name=limitPrice]', below.toFixed(2));
    await page.click('form[aria-label="order ticket"] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=ticket-message]').textContent(), { timeout: 10_000 }).toMatch(/^Order \d+ accepted$/);
    const restingId = /Order (\d+)/.exec((await page.locator('[data-testid=ticket-message]').textContent())!)![1]!;
    const resting = page.locator(`[data-testid=orders] tr[data-order-id="${restingId}"]`);
    await resting.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => resting.textContent(), { timeout: 10_000 }).toContain('cancelled');
    expect(((await (await fetch(`${base}/api/orders/${restingId}`, { headers: platform.trader })).json()) as { status: string }).status).toBe('cancelled');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-trading.png`, fullPage: true });

    await page.goto(`${pageBase}/dashboard#performance`);
    await expect.poll(() => page.locator('[role=alert]').textContent(), { timeout: 10_000 }).toContain('needs an admin token');

    // The page's own Web Vitals reached the platform and its /metrics.
    await expect.poll(async () => platform.platform.observability.metrics.text(), { timeout: 10_000 }).toMatch(/tachyon_rum_count_total\{page="(signin|trading|performance)",metric="(FCP|TTFB)"\} [1-9]/);
    await page.close();
  }, 60_000);

  it('a trader finds an instrument by search and watches it; the chart switches interval and its forming bar follows the quote; the equity curve draws', async ({ onTestFailed }) => {
    const page = await signIn(DEMO_TOKEN);
    onTestFailed(() => {
      console.log(`WebSocket events:\n${socketLog.slice(-30).join('\n')}`);
      return page.screenshot({ path: `${ARTIFACTS}/dashboard-search-failed.png`, fullPage: true }).then(() => page.close());
    });
    await expect.poll(() => page.locator('[data-testid=watchlist] tr[data-symbol=AAPL]').getAttribute('data-stale'), { timeout: 45_000 }).toBe('false');
    // Not on the default watchlist: searched among the 2,000 symbols, picked, then live.
    expect(await page.locator('[data-testid=watchlist] tr[data-symbol=TSLA]').count()).toBe(0);
    await page.fill('input[type=search]', 'tsl');
    await page.locator('[data-testid=search-results] button', { hasText: /^TSLA$/ }).click();
    const row = page.locator('[data-testid=watchlist] tr[data-symbol=TSLA]');
    await expect.poll(() => row.getAttribute('data-stale'), { timeout: 15_000 }).toBe('false');
    // The picked instrument is the chart's: its bars at the interval chosen, then its forming bar at the live price.
    await expect.poll(() => page.locator('section:has([data-testid=chart]) h2').textContent()).toBe('TSLA');
    const bars = page.waitForRequest((request) => /\/api\/market-data\/bars\/TSLA\?interval=5m/.test(request.url()));
    await page.getByRole('button', { name: '5m', exact: true }).click();
    await bars;
    expect(await page.locator('[data-testid=chart] canvas').count()).toBeGreaterThan(0);
    await expect
      .poll(async () => (await page.locator('[data-testid=chart]').getAttribute('data-forming-close')) === (await row.locator('[data-testid=last]').textContent()), { timeout: 15_000 })
      .toBe(true);
    await expect.poll(() => page.locator('[data-testid=equity-curve] canvas').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.close();
  }, 90_000);

  it('abandons a WebSocket handshake that never answers and reconnects', async ({ onTestFailed }) => {
    const page = await signIn(DEMO_TOKEN);
    onTestFailed(() => page.screenshot({ path: `${ARTIFACTS}/dashboard-stalled-failed.png`, fullPage: true }).then(() => page.close()));
    const connection = page.locator('[data-testid=connection]');
    await expect.poll(() => connection.textContent(), { timeout: 25_000 }).toBe('live');
    // The connection drops and the next handshake is taken and never answered (it stays so after the restore).
    const opened = socketsOpened;
    proxy.stall();
    await expect.poll(() => socketsOpened, { timeout: 10_000 }).toBeGreaterThan(opened);
    await proxy.restore();
    expect(await connection.textContent()).not.toBe('live');
    await expect.poll(() => connection.textContent(), { timeout: 25_000 }).toBe('live');
    await page.close();
  }, 60_000);

  it('an admin sees the performance view update from the metrics stream, and scales (a single instance says so)', async ({ onTestFailed }) => {
    // A history load (of zero days: the rows are not the point) so the health panel has one to show.
    await platform.platform.marketData.history.load(0);
    const page = await signIn(ADMIN_TOKEN, '#performance');
    onTestFailed(() => page.screenshot({ path: `${ARTIFACTS}/dashboard-performance-failed.png`, fullPage: true }).then(() => page.close()));
    // An admin has both views.
    await expect.poll(() => page.locator('header nav button').allTextContents(), { timeout: 10_000 }).toEqual(['Trading', 'Performance']);
    // The live panels come from the WebSocket: nothing polls the metrics API.
    const polled: string[] = [];
    page.on('request', (request) => request.url().includes('/api/performance/metrics') && polled.push(request.url()));
    const panel = page.locator('[data-testid=latency-panel]');
    await expect.poll(() => page.locator('[data-testid=stream]').textContent(), { timeout: 20_000 }).toBe('live');
    await expect.poll(async () => Number(await panel.getAttribute('data-updates')), { timeout: 15_000 }).toBeGreaterThan(0);
    const updates = Number(await panel.getAttribute('data-updates'));
    await expect.poll(async () => Number(await panel.getAttribute('data-updates')), { timeout: 15_000 }).toBeGreaterThan(updates + 1);
    await expect.poll(() => page.locator('[data-testid=rate]').textContent(), { timeout: 15_000 }).toMatch(/^\d+\.\d$/);
    expect(Number(await page.locator('[data-testid=heatmap]').getAttribute('data-requests'))).toBeGreaterThan(0);
    expect(Number(await page.locator('[data-testid=ws-connections]').textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.locator('[data-testid=cache-panel] tbody tr').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid=database-panel] tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid=flags-panel] tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid=health-panel]').textContent(), { timeout: 15_000 }).toContain('database');
    await expect.poll(() => page.locator('[data-testid=history-progress]').textContent(), { timeout: 15_000 }).toContain('History loaded');
    expect(polled).toEqual([]);

    // One instance: the scaling panel says so, and so does the answer to a manual request.
    await expect.poll(() => page.locator('[data-testid=scaling-mode]').textContent(), { timeout: 10_000 }).toMatch(/single instance/);
    await page.fill('form[aria-label="manual scaling"] input[name=reason]', 'browser test');
    await page.click('form[aria-label="manual scaling"] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=scaling-answer]').textContent(), { timeout: 10_000 }).toMatch(/single instance/);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-performance.png`, fullPage: true });
    await page.close();
    // Above the sum of the steps' own bounds (135 s), so a slow machine fails the step that was slow
    // rather than timing the whole test out at 90 s with no step named (as it did at load 25).
  }, 180_000);

  it('an admin runs a load test from the performance view and opens its HTML report', async ({ onTestFailed }) => {
    const page = await signIn(ADMIN_TOKEN, '#performance');
    onTestFailed(() => page.screenshot({ path: `${ARTIFACTS}/dashboard-loadtest-failed.png`, fullPage: true }).then(() => page.close()));
    // The shortest smoke run against this instance (it shares the test's process and cores).
    await page.fill('form[aria-label="load test"] input[name=duration]', '1s');
    await page.fill('form[aria-label="load test"] input[name=rate]', '2');
    await page.click('form[aria-label="load test"] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=loadtest-status]').textContent(), { timeout: 10_000 }).toMatch(/smoke/);
    const id = /Run (\d+)/.exec((await page.locator('[data-testid=loadtest-status]').textContent())!)![1]!;
    await expect.poll(() => page.locator('[data-testid=loadtest-status] b').textContent(), { timeout: 60_000 }).toMatch(/^(passed|failed)$/);
    const run = (await (await fetch(`${base}/api/performance/tests/${id}`, { headers: platform.admin })).json()) as { status: string };
    expect(await page.locator('[data-testid=loadtest-status] b').textContent()).toBe(run.status);
    const report = await page.locator('[data-testid=report-link]').getAttribute('href', { timeout: 10_000 });
    expect(report).toMatch(/^blob:/);
    // Opened in a tab of its own (the token stays out of URLs: the page fetched the report and made a blob of it).
    const [tab] = await Promise.all([page.context().waitForEvent('page'), page.click('[data-testid=report-link]')]);
    await expect.poll(() => tab.locator('h1').textContent(), { timeout: 10_000 }).toContain('smoke');
    await tab.close();
    await page.close();
  }, 150_000);

  it('starts offline from the service worker: the shell, and the last known data marked stale', async ({ onTestFailed }) => {
    const sw = await fetch(`${base}/dashboard/sw.js`);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    expect(sw.headers.get('service-worker-allowed')).toBe('/dashboard');
    expect(sw.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const page = await signIn(DEMO_TOKEN);
    onTestFailed(() => page.screenshot({ path: `${ARTIFACTS}/dashboard-offline-failed.png`, fullPage: true }).then(() => page.close()));
    await expect.poll(() => page.evaluate('navigator.serviceWorker.controller !== null'), { timeout: 20_000 }).toBe(true);
    // Controlled from now on: this load's answers are kept.
    await page.reload();
    const row = page.locator('[data-testid=watchlist] tr[data-symbol=AAPL]');
    await expect.poll(() => row.getAttribute('data-stale'), { timeout: 25_000 }).toBe('false');
    expect(await page.locator('[data-testid=stale-banner]').count()).toBe(0);
    await proxy.cut();
    try {
      await page.reload();
      await expect.poll(() => page.locator('[data-testid=stale-banner]').textContent(), { timeout: 15_000 }).toMatch(/unreachable: showing data from .* \(stale\)/);
      // Still signed in (the token is kept), the watchlist from the kept answers, its quotes stale.
      await expect.poll(() => row.getAttribute('data-stale'), { timeout: 10_000 }).toBe('true');
      expect(await page.locator('input[name=token]').count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}/dashboard-offline.png`, fullPage: true });
    } finally {
      await proxy.restore();
    }
    await page.close();
  }, 60_000);
});
