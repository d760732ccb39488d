/**
 * The docs page under the real Content-Security-Policy in a real browser (Chromium through
 * playwright-core): swagger-ui renders the API's operations with no CSP violation, and a
 * WebSocket to this origin (what the same-origin dashboard opens) is allowed by connect-src.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`\n!!! SKIPPED: no Chromium at ${CHROMIUM}; the docs CSP browser test did not run.\n`);

let t: TestPlatform;
let base: string;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  t = await startTestPlatform(pglite);
  base = await t.platform.listen();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

it.skipIf(!available)('renders /docs with no CSP violation, and allows a same-origin WebSocket', async () => {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  // Runs in the page (a string: this project's TypeScript has no DOM types).
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  });
  const response = await page.goto(`${base}/docs`);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  // Operations appear only once swagger-ui's scripts ran and fetched the OpenAPI document.
  await page.waitForSelector('.opblock', { timeout: 30_000 });
  expect(await page.locator('.opblock').count()).toBeGreaterThan(10);

  const opened = await page.evaluate(
    (url) =>
      new Promise<string>((resolve) => {
        try {
          const socket = new WebSocket(url);
          socket.onopen = () => {
            socket.close();
            resolve('open');
          };
          socket.onerror = () => resolve('error');
        } catch (error) {
          resolve(`blocked: ${String(error)}`);
        }
      }),
    `${base.replace('http', 'ws')}/ws`,
  );
  expect(opened).toBe('open');
  expect(violations).toEqual([]);
}, 90_000);
