/** Field measurements: POST /api/rum validated, kept as percentiles per page, shown to admins and on /metrics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pglite } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { loadDashboardAssets, pickEncoding } from '../../src/dashboard/assets.ts';
import { dashboardRoutes } from '../../src/dashboard/routes.ts';
import Fastify from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialJsBudget, initialJsBytes } from '../../dashboard/build/plugins.ts';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform(pglite);
});
afterAll(() => t?.close());

const post = (body: unknown, headers: Record<string, string> = t.trader) =>
  t.platform.app.inject({ method: 'POST', url: '/api/rum', headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describe('RUM', () => {
  it('keeps percentiles per page and metric: seconds for timings, the score for CLS', async () => {
    for (const value of [800, 1200, 1600, 2000]) expect((await post({ page: 'trading', metrics: [{ name: 'LCP', value }, { name: 'CLS', value: 0.05 }] })).statusCode).toBe(204);
    const stats = (await t.platform.app.inject({ url: '/api/rum', headers: t.admin })).json();
    expect(stats.byPage.trading.LCP.count).toBe(4);
    expect(stats.byPage.trading.LCP.p50).toBeCloseTo(1.2, 2);
    expect(stats.byPage.trading.LCP.p99).toBeCloseTo(2, 2);
    expect(stats.byPage.trading.CLS.p75).toBeCloseTo(0.05, 3);
    const text = await t.platform.observability.metrics.text();
    expect(text).toContain('tachyon_rum_count_total{page="trading",metric="LCP"} 4');
    expect(text).toMatch(/tachyon_rum_p99\{page="trading",metric="LCP"\} 2(\.0+\d*)?\n/);
  });

  it('refuses what would make unbounded labels or absurd values, and anonymous reports', async () => {
    expect((await post({ page: '/dashboard?id=1', metrics: [{ name: 'LCP', value: 1 }] })).statusCode).toBe(400);
    expect((await post({ page: 'trading', metrics: [{ name: 'FID', value: 1 }] })).statusCode).toBe(400);
    expect((await post({ page: 'trading', metrics: [{ name: 'LCP', value: -1 }] })).statusCode).toBe(400);
    expect((await post({ page: 'trading', metrics: [] })).statusCode).toBe(400);
    expect((await post({ page: 'trading', metrics: [{ name: 'LCP', value: 1 }] }, {})).statusCode).toBe(401);
    expect((await t.platform.app.inject({ url: '/api/rum', headers: t.trader })).statusCode).toBe(403);
  });
});

describe('dashboard assets', () => {
  const asset = { type: 'text/javascript', identity: Buffer.from('x'), br: Buffer.from('b'), gzip: Buffer.from('g') };
  it('answers 503 until the dashboard is built, then serves it without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyon-dashboard-'));
    const app = Fastify();
    await app.register(dashboardRoutes(() => loadDashboardAssets(dir)));
    try {
      expect((await app.inject('/dashboard')).statusCode).toBe(503);
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/dashboard/assets/index-abc.js"></script>');
      writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
      const shell = await app.inject('/dashboard/');
      expect(shell.statusCode).toBe(200);
      expect(shell.headers['cache-control']).toBe('no-cache');
      const script = await app.inject({ url: '/dashboard/assets/index-abc.js', headers: { 'accept-encoding': 'br' } });
      // No pre-compressed variant was written: the file itself, still immutable.
      expect(script.headers['content-encoding']).toBeUndefined();
      expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(script.body).toBe('console.log(1)');
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('picks brotli, then gzip, then the file itself, honouring q=0', () => {
    expect(pickEncoding(asset, 'gzip, deflate, br').encoding).toBe('br');
    expect(pickEncoding(asset, 'gzip, br;q=0').encoding).toBe('gzip');
    expect(pickEncoding(asset, 'identity').encoding).toBeUndefined();
    expect(pickEncoding(asset, undefined).encoding).toBeUndefined();
    expect(pickEncoding({ ...asset, br: undefined }, 'br, gzip').encoding).toBe('gzip');
  });

  it('counts the entry and its static imports against the initial-JS budget, not lazy chunks, and fails the build over it', () => {
    const chunk = (fileName: string, code: string, isEntry: boolean, imports: string[] = [], dynamicImports: string[] = []) => ({ type: 'chunk', fileName, code, isEntry, imports, dynamicImports });
    const random = (n: number) => Array.from({ length: n }, (_, i) => ((i * 7919) % 65_521).toString(36)).join('');
    const bundle = {
      'index.js': chunk('index.js', 'import "./shared.js";', true, ['shared.js'], ['lazy.js']),
      'shared.js': chunk('shared.js', random(20_000), false),
      'lazy.js': chunk('lazy.js', random(200_000), false),
    } as never;
    const bytes = initialJsBytes(bundle);
    expect(bytes).toBeGreaterThan(1_000);
    expect(bytes).toBeLessThan(initialJsBytes({ ...(bundle as object), 'lazy.js': chunk('lazy.js', random(200_000), true) } as never));

    const plugin = initialJsBudget(bytes - 1);
    const errors: string[] = [];
    const context = { error: (message: string) => errors.push(message), info: () => {} };
    (plugin.generateBundle as (this: unknown, options: unknown, bundle: unknown) => void).call(context, {}, bundle);
    expect(errors[0]).toMatch(/over budget/);
    errors.length = 0;
    (initialJsBudget(bytes).generateBundle as (this: unknown, options: unknown, bundle: unknown) => void).call(context, {}, bundle);
    expect(errors).toEqual([]);
  });
});
