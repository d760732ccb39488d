// The chaos scenario on a three-instance cluster (real processes, HAProxy, PostgreSQL and Redis behind the
// run's fault proxies): kill -9, SIGSTOP past the lease, Redis cut, PostgreSQL slowed then cut, under a
// steady trading load; no acknowledged order lost, the database reconciles, no gap on any orders channel.
// Latency objectives are loosened to what this shared machine always meets: correctness stays strict.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedScenarioFile } from '../../src/loadtest/builtin.ts';
import { runChaos, type ChaosResult } from '../../src/loadtest/chaos/run-chaos.ts';
import { importScenario, scenarioUrl } from '../../src/loadtest/load-scenario.ts';
import { renderHtmlReport } from '../../src/loadtest/report/html.ts';
import type { Scenario } from '../../src/loadtest/scenario.ts';
import type { TradingData } from '../../src/loadtest/trading/accounts.ts';
import { clusterPrerequisites } from '../cluster/support.ts';
import { PG_ADMIN_URL, REDIS_TEST_URL } from '../support/servers.ts';

const ready = await clusterPrerequisites();

describe.skipIf(!ready)('tachyon loadtest --scenario chaos', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'tachyon-chaos-test-'));
  const stop = new AbortController();
  let run: Promise<ChaosResult>;
  let chaos: ChaosResult;
  const logs: string[] = [];

  beforeAll(async () => {
    const scenario = (await importScenario(scenarioUrl(shippedScenarioFile('chaos')))) as Scenario<TradingData>;
    run = runChaos({
      environment: { instances: 3, basePort: 28600, databaseUrl: PG_ADMIN_URL, redisUrl: REDIS_TEST_URL, runDir, env: { ...process.env, LOG_LEVEL: 'warn' }, log: (line) => logs.push(line) },
      scenario,
      faults: ['kill', 'stop', 'redis', 'pg'],
      durationMs: 100_000,
      leaseTtlMs: 5_000,
      slo: { http_req_failed: ['rate<0.05'], http_req_duration: ['p(95)<10000'] },
      load: { rate: 15, vus: 30, signal: stop.signal },
      log: (line) => logs.push(line),
    });
    chaos = await run;
  }, 330_000);

  afterAll(async () => {
    // A timed-out run still tears its cluster down: stop the load, wait for the cleanup.
    stop.abort();
    await run?.catch(() => undefined);
    rmSync(runDir, { recursive: true, force: true });
  }, 120_000);

  it('injects every fault and passes the correctness checks', () => {
    const context = JSON.stringify({ logs, errors: chaos.result.errors, reconcile: chaos.reconcileProblems.slice(0, 5), lost: chaos.lostOrders.slice(0, 5) });
    expect(chaos.faults.map((f) => f.kind), context).toEqual(['kill', 'stop', 'redis', 'pg']);
    expect(chaos.faults.filter((f) => f.error), context).toEqual([]);
    expect(chaos.skipped, context).toEqual([]);
    const byKey = Object.fromEntries(chaos.result.thresholds.map((t) => [t.key, t]));
    for (const key of ['orders_lost{source:database}', 'reconcile_problems', 'faults_injected', 'ws_seq_gaps{channel:orders}']) {
      expect(byKey[key], `${key} ${context}`).toMatchObject({ passed: true, noData: false });
    }
    expect(chaos.lostOrders).toEqual([]);
    expect(chaos.reconcileProblems).toEqual([]);
    // Orders were acknowledged throughout, so "none lost" means something.
    expect((chaos.result.metrics.orders_acknowledged as { count: number }).count).toBeGreaterThan(100);
  });

  it('judges each fault and its recovery as intervals, shaded on the report plots', () => {
    const intervals = chaos.result.intervals ?? [];
    expect(intervals.filter((i) => i.kind === 'fault').map((i) => i.label)).toEqual(['kill', 'stop', 'redis', 'pg']);
    expect(intervals.filter((i) => i.kind === 'recovery').map((i) => i.label)).toEqual(['after kill', 'after stop', 'after redis', 'after pg']);
    for (const i of intervals) {
      expect(i.thresholds.map((t) => t.key), i.label).toContain('ws_seq_gaps{channel:orders}');
      expect(i.thresholds.find((t) => t.key === 'ws_seq_gaps{channel:orders}')?.passed, i.label).toBe(true);
    }
    // The database cut fails orders (a retryable 503), so its interval shows failures the others do not need to.
    expect(intervals.find((i) => i.label === 'pg')!.failed).toBeGreaterThan(0);
    const html = renderHtmlReport(chaos.result);
    expect(html.match(/<rect [^>]*fill="#dc2626"/g)?.length).toBe(2 * 4);
  });

  it('removes the run database when it is done', async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    const name = logs.map((l) => /\(database (\w+),/.exec(l)?.[1]).find(Boolean);
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    await client.end();
    expect(name).toMatch(/^tachyon_chaos_/);
    expect(rows).toEqual([]);
  });
});
