/**
 * An idle demo must not page: a few slow scrapes and health checks are not a latency problem, and
 * the default memory budget covers what the default configuration uses. The same rules are checked
 * in-process (AlertEngine) and as PromQL (promtool test rules on the same idle series).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { AlertEngine, type AlertEvent } from '../../src/observability/alerts/engine.ts';
import { ALERT_RULES, type Signals } from '../../src/observability/alerts/rules.ts';
import { RULES_FILE } from '../../src/observability/write-deploy.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { promtool } from './promtool.ts';

const MINUTE = 60_000;
/** RSS of an embedded demo after its first start and seeding (bench:memory, 2026-11-26: 397 MiB at most, after 2 days of seeding; issue #14 saw 696 MB before). */
const IDLE_RSS_BYTES = 397 * 1_048_576;

function signals(traffic: { ratePerSecond: number; p95Ms: number; errorRatio: number }, tradingHalted = 0, leakSuspected = 0): Signals {
  const memoryLimitBytes = loadConfig({}).observability.memoryLimitBytes;
  return {
    httpRequestRate: () => traffic.ratePerSecond,
    httpPercentileMs: () => traffic.p95Ms,
    httpErrorRatio: () => traffic.errorRatio,
    httpSlowRatio: () => (traffic.p95Ms > 100 ? 0.5 : 0),
    cpuUtilization: () => 0.05,
    memoryUtilization: () => IDLE_RSS_BYTES / memoryLimitBytes,
    queueDepth: async () => 0,
    tradingHalted: async () => tradingHalted,
    leakSuspected: async () => leakSuspected,
  };
}

async function run(engine: AlertEngine, clock: ManualClock, minutes: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let m = 0; m <= minutes; m++) {
    await engine.evaluate();
    for (const alert of engine.activeAlerts()) seen.add(`${alert.rule}:${alert.state}`);
    clock.advance(MINUTE);
  }
  return seen;
}

describe('alert defaults on an idle demo', () => {
  it('an idle instance (one scrape every 15 s, a slow one among them) raises no alert, not even pending', async () => {
    const clock = new ManualClock();
    const events: AlertEvent[] = [];
    const engine = new AlertEngine(ALERT_RULES, signals({ ratePerSecond: 0.07, p95Ms: 180, errorRatio: 0.25 }), clock, async (e) => void events.push(e), 'idle');
    expect([...(await run(engine, clock, 30))]).toEqual([]);
    expect(events).toEqual([]);
  });

  it('the same latency under real traffic pages after the rule’s `for` duration', async () => {
    const clock = new ManualClock();
    const events: AlertEvent[] = [];
    const engine = new AlertEngine(ALERT_RULES, signals({ ratePerSecond: 5, p95Ms: 180, errorRatio: 0 }), clock, async (e) => void events.push(e), 'busy');
    const seen = await run(engine, clock, 12);
    expect(seen).toContain('TachyonHighLatencyP95:pending');
    expect(events.map((e) => `${e.rule}:${e.state}`)).toContain('TachyonHighLatencyP95:firing');
    expect(seen).not.toContain('TachyonHighMemory:pending');
  });

  it('a trading engine that stays halted pages after two minutes, idle or not', async () => {
    const clock = new ManualClock();
    const events: AlertEvent[] = [];
    const engine = new AlertEngine(ALERT_RULES, signals({ ratePerSecond: 0.07, p95Ms: 1, errorRatio: 0 }, 1), clock, async (e) => void events.push(e), 'halted');
    await run(engine, clock, 3);
    expect(events.map((e) => `${e.rule}:${e.state}`)).toEqual(['TachyonTradingHalted:firing']);
  });

  it('a leak suspicion that holds opens a ticket after five minutes, idle or not', async () => {
    const clock = new ManualClock();
    const events: AlertEvent[] = [];
    const engine = new AlertEngine(ALERT_RULES, signals({ ratePerSecond: 0.07, p95Ms: 1, errorRatio: 0 }, 0, 1), clock, async (e) => void events.push(e), 'leaking');
    const seen = await run(engine, clock, 4);
    expect(seen).toEqual(new Set(['TachyonMemoryLeakSuspected:pending']));
    expect(events).toEqual([]);
    await run(engine, clock, 2);
    expect(events.map((e) => `${e.rule}:${e.state}`)).toEqual(['TachyonMemoryLeakSuspected:firing']);
  });

  it('PromQL: promtool finds no alert on idle series, the p95 page under traffic, a halted trading engine and a suspected leak', { timeout: 120_000 }, (context) => {
    const bin = promtool();
    if (!bin) return context.skip();
    const dir = mkdtempSync(join(tmpdir(), 'tachyon-alerts-'));
    const memoryLimit = loadConfig({}).observability.memoryLimitBytes;
    // Counters per 15 s scrape: idle adds one request per scrape, busy 75 (5/s); both are all slower than 100 ms.
    const latency = (instance: string, perScrape: number) =>
      ['0.05', '0.1', '+Inf']
        .map((le) => `      - series: 'tachyon_http_request_duration_seconds_bucket{instance="${instance}",le="${le}",status_code="200"}'\n        values: '0+${le === '+Inf' ? perScrape : 0}x120'`)
        .concat(`      - series: 'tachyon_http_request_duration_seconds_count{instance="${instance}",status_code="200"}'\n        values: '0+${perScrape}x120'`)
        .join('\n');
    const tests = `rule_files:
  - ${RULES_FILE}
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
${latency('idle', 1)}
${latency('busy', 75)}
      - series: 'process_resident_memory_bytes{instance="idle"}'
        values: '${IDLE_RSS_BYTES}x120'
      - series: 'tachyon_memory_limit_bytes{instance="idle"}'
        values: '${memoryLimit}x120'
      - series: 'tachyon_trading_engine_state{instance="idle",state="active"}'
        values: '1x120'
      - series: 'tachyon_trading_engine_state{instance="idle",state="halted"}'
        values: '0x120'
      - series: 'tachyon_trading_engine_state{instance="busy",state="active"}'
        values: '0x120'
      - series: 'tachyon_trading_engine_state{instance="busy",state="halted"}'
        values: '1x120'
      - series: 'tachyon_memory_leak_suspected{instance="idle"}'
        values: '0x120'
      - series: 'tachyon_memory_leak_suspected{instance="busy"}'
        values: '1x120'
    alert_rule_test:
      - eval_time: 25m
        alertname: TachyonHighMemory
        exp_alerts: []
      - eval_time: 25m
        alertname: TachyonHighLatencyP95
        exp_alerts:
          - exp_labels: { severity: page, instance: busy }
            exp_annotations:
              summary: 'HTTP p95 latency above 50 ms for 10 minutes (with at least 1 request/s)'
              description: 'busy: 100m'
      - eval_time: 25m
        alertname: TachyonTradingHalted
        exp_alerts:
          - exp_labels: { severity: page, instance: busy }
            exp_annotations:
              summary: 'Trading engine halted or recovering for 2 minutes: orders answer 503 (journal commits fail)'
              description: 'busy: 1'
      - eval_time: 25m
        alertname: TachyonMemoryLeakSuspected
        exp_alerts:
          - exp_labels: { severity: ticket, instance: busy }
            exp_annotations:
              summary: 'Post-GC heap grows steadily: a leak is suspected; GET /api/performance/memory/leaks names what grows'
              description: 'busy: 1'
`;
    const file = join(dir, 'idle.test.yml');
    writeFileSync(file, tests);
    const out = execFileSync(bin, ['test', 'rules', file], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });
});
