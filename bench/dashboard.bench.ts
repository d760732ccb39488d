/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) over loopback, the CPU
 * throttled 4× (a mid-range phone, CDP Emulation.setCPUThrottlingRate): FCP, LCP and bytes
 * transferred for /dashboard signed in as the demo trader (the trading view, its API calls
 * included), cold (a fresh browser context: empty cache, no service worker) and warm (the same
 * context after a first load), median and percentiles of several loads each. The reference, in the
 * same run and the same browser: the same HTML shell and stylesheet served as a static page by a
 * bare node:http server (no script), i.e. what the browser needs to paint that document at all.
 * Then the page's own frame rate (requestAnimationFrame, throttled) while the simulated feed streams
 * 2,000 instruments at 2,000 ticks/s: the trading view as it is (its watchlist's quotes), the same
 * view also receiving every one of the 2,000 quote channels on a second socket, and the idle static
 * reference. The machine is shared and loaded: figures are smoke, only same-run ratios mean much.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { testConfig } from '../src/config/config.ts';
import { buildPlatform } from '../src/platform.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

// Functions passed to page.evaluate run in the browser; the server's tsconfig has no DOM types.
declare const sessionStorage: { setItem(key: string, value: string): void };
declare const location: { host: string };

const LOADS = Number(process.env.BENCH_LOADS ?? 5);
const FPS_SECONDS = Number(process.env.BENCH_FPS_SECONDS ?? 5);
const CPU_THROTTLE = 4;
const DIST = 'dashboard/dist';
const TOKEN = 'bench-demo-token-0123456789';
const INSTRUMENTS = 2_000;
/** The platform's port (the reference takes the next one); 0 lets the system choose both. */
const PORT = Number(process.env.PORT ?? 0);

if (!existsSync(join(DIST, 'index.html'))) {
  console.log('building the dashboard first (npm run dashboard:build)…');
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}

/** The reference: the shell without its scripts, and the built files, as a plain static server would send them. */
function referenceServer(): Promise<{ server: Server; url: string }> {
  const shell = readFileSync(join(DIST, 'index.html'), 'utf8').replace(/<script\b[^>]*>\s*<\/script>/g, '').replace(/<link rel="modulepreload"[^>]*>/g, '');
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === '/dashboard') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(shell);
      return;
    }
    const file = path.startsWith('/dashboard/assets/') ? join(DIST, 'assets', path.slice('/dashboard/assets/'.length).replace(/[/\\]/g, '')) : '';
    if (!file || !existsSync(file)) return void response.writeHead(404).end();
    const br = /\bbr\b/.test(String(request.headers['accept-encoding'])) && existsSync(`${file}.br`);
    response.writeHead(200, {
      'content-type': file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      ...(br ? { 'content-encoding': 'br' } : {}),
    });
    response.end(readFileSync(br ? `${file}.br` : file));
  });
  return new Promise((resolve) => server.listen(PORT && PORT + 1, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/dashboard` })));
}

interface Load {
  fcpMs: number;
  lcpMs: number;
  bytes: number;
}

/**
 * One page load, throttled: paint timings from the page; bytes (HTTP only, not WebSocket frames) from
 * the page's network domain, where an answer the service worker gives counts 0, plus what the service
 * worker itself fetched meanwhile (network-first API answers, its install's precache).
 */
async function measureLoad(context: BrowserContext, url: string, ready: string): Promise<Load> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_THROTTLE });
  await cdp.send('Network.enable');
  let bytes = 0;
  cdp.on('Network.loadingFinished', (event: { encodedDataLength: number }) => (bytes += event.encodedDataLength));
  const workerFetches: Array<Promise<number>> = [];
  const fromWorker = (request: Request) => {
    if (request.serviceWorker()) workerFetches.push(request.sizes().then((s) => s.responseHeadersSize + s.responseBodySize));
  };
  context.on('requestfinished', fromWorker);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector(ready, { timeout: 60_000 });
  await page.waitForLoadState('networkidle');
  context.off('requestfinished', fromWorker);
  for (const size of await Promise.all(workerFetches)) bytes += size;
  const { fcp, lcp } = await page.evaluate(
    () =>
      new Promise<{ fcp: number; lcp: number }>((resolve) => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
        new PerformanceObserver((list) => resolve({ fcp, lcp: list.getEntries().at(-1)!.startTime })).observe({ type: 'largest-contentful-paint', buffered: true } as never);
      }),
  );
  await page.close();
  return { fcpMs: fcp, lcpMs: lcp, bytes };
}

async function series(browser: Browser, url: string, ready: string, warm: boolean): Promise<Load[]> {
  const signedIn = (context: BrowserContext) => context.addInitScript((token) => sessionStorage.setItem('tachyon.token', token), TOKEN).then(() => context);
  const loads: Load[] = [];
  if (warm) {
    const context = await signedIn(await browser.newContext());
    await measureLoad(context, url, ready); // fills the HTTP cache and installs the service worker
    for (let i = 0; i < LOADS; i++) loads.push(await measureLoad(context, url, ready));
    await context.close();
  } else {
    for (let i = 0; i < LOADS; i++) {
      const context = await signedIn(await browser.newContext());
      loads.push(await measureLoad(context, url, ready));
      await context.close();
    }
  }
  return loads;
}

/** Frame intervals (ms) over FPS_SECONDS, throttled; `extra` runs in the page first (a second socket). */
async function frames(browser: Browser, url: string, ready: string, extra?: (page: Page) => Promise<void>): Promise<number[]> {
  const context = await browser.newContext();
  await context.addInitScript((token) => sessionStorage.setItem('tachyon.token', token), TOKEN);
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector(ready, { timeout: 60_000 });
  if (extra) await extra(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_THROTTLE });
  // A string, not a function: tsx names inner functions with a helper the page does not have.
  const intervals = (await page.evaluate(`new Promise((resolve) => {
    const out = [];
    let last = performance.now();
    const end = last + ${FPS_SECONDS * 1000};
    function frame(now) {
      out.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(frame);
      else resolve(out);
    }
    requestAnimationFrame(frame);
  })`)) as number[];
  await context.close();
  return intervals;
}

/** Subscribes the page to every quote channel on a second (JSON) socket and counts what it receives. */
async function allQuotes(page: Page, symbols: string[]): Promise<void> {
  await page.evaluate(
    ({ token, symbols }) =>
      new Promise<void>((resolve) => {
        const socket = new WebSocket(`ws://${location.host}/ws`, 'tachyon.v1.json');
        (globalThis as { quotesReceived?: number }).quotesReceived = 0;
        const CHUNK = 200;
        let answered = 0;
        socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token }));
        socket.onmessage = (event) => {
          const frame = JSON.parse(event.data as string) as { type: string; messages?: unknown[] };
          // In frames under the 16 KB message limit; done when every one is answered.
          if (frame.type === 'welcome') for (let i = 0; i < symbols.length; i += CHUNK) socket.send(JSON.stringify({ type: 'subscribe', id: i, channels: symbols.slice(i, i + CHUNK).map((s) => `quotes:${s}`) }));
          if (frame.type === 'subscribed' && ++answered === Math.ceil(symbols.length / CHUNK)) resolve();
          if (frame.type === 'batch') (globalThis as { quotesReceived?: number }).quotesReceived! += frame.messages!.length;
        };
      }),
    { token: TOKEN, symbols },
  );
}

const histogram = (values: number[]) => {
  const h = hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 2, autoResize: true });
  for (const v of values) h.recordValue(Math.max(1, Math.round(v * 1000))); // µs
  return h;
};
const at = (h: hdr.Histogram, p: number) => h.getValueAtPercentile(p) / 1000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const config = testConfig({
  port: PORT,
  demoToken: TOKEN,
  market: { ...testConfig().market, instruments: INSTRUMENTS, tickRate: INSTRUMENTS },
  realtime: { ...testConfig().realtime, maxSubscriptionsPerConnection: INSTRUMENTS + 10, maxSnapshotsPerSecond: INSTRUMENTS * 2 },
});
const platform = await buildPlatform(config, { inMemory: true });
const base = await platform.listen();
const reference = await referenceServer();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const loadBefore = os.loadavg()[0]!;
const TRADING_READY = '[data-testid=watchlist] tr[data-symbol=AAPL]';
const runs: Array<{ page: string; cache: 'cold' | 'warm'; loads: Load[] }> = [];
try {
  for (const cache of ['cold', 'warm'] as const) {
    runs.push({ page: 'static shell (reference)', cache, loads: await series(browser, reference.url, 'body', cache === 'warm') });
    runs.push({ page: '/dashboard (trading view)', cache, loads: await series(browser, `${base}/dashboard`, TRADING_READY, cache === 'warm') });
  }
  const loadFigures = runs.map(({ page, cache, loads }) => {
    const fcp = histogram(loads.map((l) => l.fcpMs));
    const lcp = histogram(loads.map((l) => l.lcpMs));
    return { page, cache, loads: loads.length, fcpMedianMs: median(loads.map((l) => l.fcpMs)), fcpP90Ms: at(fcp, 90), lcpMedianMs: median(loads.map((l) => l.lcpMs)), lcpP90Ms: at(lcp, 90), transferMedianBytes: median(loads.map((l) => l.bytes)) };
  });
  const ref = (cache: string) => loadFigures.find((f) => f.cache === cache && f.page.includes('reference'))!;
  printTable(
    loadFigures.map((f) => ({
      page: f.page,
      cache: f.cache,
      'FCP median ms': f.fcpMedianMs.toFixed(0),
      'FCP p90': f.fcpP90Ms.toFixed(0),
      'LCP median ms': f.lcpMedianMs.toFixed(0),
      'LCP p90': f.lcpP90Ms.toFixed(0),
      'transfer KB': (f.transferMedianBytes / 1024).toFixed(1),
      '× ref FCP': (f.fcpMedianMs / ref(f.cache).fcpMedianMs).toFixed(2),
      '× ref LCP': (f.lcpMedianMs / ref(f.cache).lcpMedianMs).toFixed(2),
    })),
  );
  const symbols = platform.marketData.instruments.map((i) => i.symbol);
  const fps = [
    { page: 'static shell (reference)', intervals: await frames(browser, reference.url, 'body') },
    { page: 'trading view, watchlist quotes', intervals: await frames(browser, `${base}/dashboard`, TRADING_READY) },
    { page: `trading view + all ${symbols.length} quote channels`, intervals: await frames(browser, `${base}/dashboard`, TRADING_READY, (page) => allQuotes(page, symbols)) },
  ];
  const loadAfter = os.loadavg()[0]!;
  const fpsFigures = fps.map(({ page, intervals }) => {
    const h = histogram(intervals);
    return { page, fps: intervals.length / FPS_SECONDS, frameP50Ms: at(h, 50), frameP95Ms: at(h, 95), frameP99Ms: at(h, 99), frameMaxMs: h.maxValue / 1000 };
  });
  console.log('');
  printTable(
    fpsFigures.map((f) => ({
      page: f.page,
      fps: f.fps.toFixed(1),
      '× ref fps': (f.fps / fpsFigures[0]!.fps).toFixed(2),
      'frame p50 ms': f.frameP50Ms.toFixed(1),
      'frame p95': f.frameP95Ms.toFixed(1),
      'frame p99': f.frameP99Ms.toFixed(1),
      'frame max': f.frameMaxMs.toFixed(1),
    })),
  );
  console.log(`\n${LOADS} loads per row, CPU throttled ${CPU_THROTTLE}×, frame rate over ${FPS_SECONDS} s with the feed at ${config.market.tickRate} ticks/s; load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} on ${os.cpus().length} cores (shared: smoke figures)`);
  const cold = loadFigures.find((f) => f.cache === 'cold' && !f.page.includes('reference'))!;
  const headline: Headline = {
    subject: '/dashboard trading view, cold cache',
    reference: 'static shell (same run)',
    figures: [
      { name: 'LCP median', unit: 'ms', better: 'lower', value: cold.lcpMedianMs, reference: ref('cold').lcpMedianMs },
      { name: 'frame rate, watchlist quotes', unit: 'fps', better: 'higher', value: fpsFigures[1]!.fps, reference: fpsFigures[0]!.fps },
    ],
  };
  const file = writeResults('dashboard', { cpuThrottle: CPU_THROTTLE, loadsPerRow: LOADS, fpsSeconds: FPS_SECONDS, tickRate: config.market.tickRate, loadAverage: { before: loadBefore, after: loadAfter }, loads: loadFigures, frameRate: fpsFigures, headline });
  console.log(`results: ${file}`);
} finally {
  await browser.close();
  reference.server.close();
  await platform.stop();
}
