/**
 * Property-based fuzz over every route of the served OpenAPI document, in-process (app.inject), as a
 * trader and as an admin: requests generated from each route's schemas mixed with hostile values
 * (openapi-arbitraries.ts). Whatever arrives, the platform answers without a 5xx, every error is
 * problem+json with a message, the trading engine never halts, and health stays ok.
 *
 * CI runs a bounded number of cases per route with a fixed seed. Longer on demand:
 *   FUZZ_RUNS=2000 FUZZ_SEED=$RANDOM npx vitest run test/hardening/fuzz.test.ts
 * (FUZZ_RUNS: cases per route and engine, default 15; FUZZ_SEED: default 12012.)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { reconcile } from '../../src/trading/reconcile.ts';
import { engines } from '../support/engines.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { operationsOf, requestsFor, type GeneratedRequest, type Operation } from './openapi-arbitraries.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 15);
const SEED = Number(process.env.FUZZ_SEED ?? 12012);

/** Starting a load test runs real load against a target: its input is covered by edge-validation.test.ts. */
// Operations that start long background work (a load test, a history reload, a leak diagnosis's heap
// snapshots): their input checks have focused tests; fuzzing them would load the machine for minutes.
const SKIPPED = new Set([
  'POST /api/performance/tests',
  'POST /performance/tests',
  'POST /api/admin/history',
  'POST /api/performance/memory/leaks/diagnose',
  'POST /performance/memory/leaks/diagnose',
  'POST /api/performance/profiling/start',
  'POST /performance/profiling/start',
]);

describe.each(await engines())('fuzz over the OpenAPI document on $name', (engine) => {
  let t: TestPlatform;
  let operations: Operation[];

  beforeAll(async () => {
    t = await startTestPlatform(engine, { http: { ...testConfig().http, rateLimitPerSecond: 0 } });
    const doc = await t.platform.app.inject({ url: '/docs/json' });
    expect(doc.statusCode).toBe(200);
    operations = operationsOf(doc.json()).filter((op) => !SKIPPED.has(`${op.method} ${op.path}`));
  });
  afterAll(async () => {
    await t?.close();
  });

  async function send(request: GeneratedRequest) {
    const res = await t.platform.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, payload: request.payload });
    const what = `${request.method} ${request.url.slice(0, 300)} ${String(request.payload).slice(0, 300)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
    // Readiness answers 503 by contract until the platform listens (this one never does): not a failure.
    const notReady = request.url.startsWith('/api/health/ready') && res.statusCode === 503 && res.headers['retry-after'] !== undefined;
    if (!notReady) expect(res.statusCode, what).toBeLessThan(500);
    // Health probes answer their own status document; every other error is problem+json.
    if (res.statusCode >= 400 && !notReady) {
      expect(res.headers['content-type'], what).toContain('application/problem+json');
      const problem = res.json<{ status: number; detail: unknown }>();
      expect(problem.status, what).toBe(res.statusCode);
      expect(typeof problem.detail === 'string' && problem.detail.length > 0, what).toBe(true);
    }
    expect(t.platform.trading.engine.running, `trading halted after ${what}`).toBe(true);
  }

  it('covers every route of the document', () => {
    // The document is the platform's own: a route missing here is a route the fuzz never reaches.
    expect(operations.length).toBeGreaterThan(40);
    expect(operations.map((op) => `${op.method} ${op.path}`)).toEqual(expect.arrayContaining(['POST /api/orders', 'GET /api/market-data/bars/{symbol}', 'POST /api/strategies', 'POST /api/backtests']));
  });

  it('answers every generated request without a 5xx, with problem+json errors, trading running and health ok', async () => {
    const authorization = fc.constantFrom(t.trader.authorization, t.admin.authorization);
    for (const [index, op] of operations.entries()) {
      await fc.assert(fc.asyncProperty(requestsFor(op, authorization), send), { seed: SEED + index, numRuns: RUNS, endOnFailure: true });
    }
    await t.platform.trading.engine.journal.durable();
    expect((await t.platform.app.inject({ url: '/api/health' })).statusCode).toBe(200);
    expect((await t.platform.app.inject({ url: '/api/health/db' })).statusCode).toBe(200);
    expect((await reconcile(t.platform.db)).problems).toEqual([]);
  }, 600_000);
});
