// `npm run loadtest:websocket` in a small form: 100 sessions (of the scenario's 1,000) for a few seconds
// against a whole platform built in-process, each subscribed, receiving, and measured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config/config.ts';
import { scenarioPath } from '../../src/loadtest/builtin.ts';
import type { RunResult } from '../../src/loadtest/results.ts';
import { runLoadTest } from '../../src/loadtest/run.ts';
import { pglite } from '../support/engines.ts';
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../support/platform.ts';

let tp: TestPlatform;
let result: RunResult;

beforeAll(async () => {
  // 100 instruments at 500 ticks/s: each watched symbol ticks several times per receive window.
  tp = await startTestPlatform(pglite, { market: { ...testConfig().market, instruments: 100, tickRate: 500 } });
  const target = await tp.platform.listen();
  result = await runLoadTest(scenarioPath('websocket'), {
    target,
    name: 'websocket',
    vus: 100,
    duration: '15s',
    env: { TACHYON_ADMIN_TOKEN: ADMIN_TOKEN },
    // Generator, platform and parallel test files share this machine's CPU: the latency objective is
    // loosened to what a busy machine always meets; connecting, receiving and sequencing stay strict.
    thresholds: { 'ws_msg_latency{channel:quotes}': ['p(95)<10000'], ws_connecting: ['p(95)<10000'] },
  });
}, 90_000);
afterAll(() => tp?.close());

describe('loadtest:websocket', () => {
  it('holds 100 sessions that subscribe and receive quotes, within every threshold', () => {
    const failing = result.thresholds.filter((t) => !t.passed).map((t) => `${t.key}: ${t.source} (observed ${t.observed})`);
    expect(failing, JSON.stringify({ errors: result.errors, metrics: result.metrics })).toEqual([]);
    expect(result.status).toBe('passed');
    expect(result.metrics.ws_sessions).toMatchObject({ kind: 'counter', count: 100 });
    expect((result.metrics.ws_msg_latency as { count: number }).count).toBeGreaterThan(100);
    // Every VU subscribed once and judged at least one receive window.
    expect((result.metrics.checks as { passes: number }).passes).toBeGreaterThanOrEqual(200);
  });
});
