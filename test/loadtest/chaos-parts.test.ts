// The chaos runner's parts without a cluster: intervals judged on their own seconds, the fault schedule,
// the recovery windows between faults, the fault proxy, and the shaded bands on the report's plots.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../src/loadtest/chaos/fault-proxy.ts';
import { parseFaults } from '../../src/loadtest/chaos/faults.ts';
import { intervalsOf } from '../../src/loadtest/chaos/run-chaos.ts';
import { planSchedule } from '../../src/loadtest/chaos/schedule.ts';
import { summarizeIntervals } from '../../src/loadtest/intervals.ts';
import { MetricsRegistry } from '../../src/loadtest/metrics.ts';
import { lineChart } from '../../src/loadtest/report/svg.ts';

const START = 1_700_000_000_000;
const at = (s: number) => START + s * 1000 + 500;

describe('intervals', () => {
  it('judges each span on its own seconds only', () => {
    const r = new MetricsRegistry(START);
    for (let s = 0; s < 30; s++) {
      const fault = s >= 10 && s < 15;
      for (let i = 0; i < 10; i++) {
        r.addTrend('http_req_duration', {}, fault ? 900 : 20, at(s));
        r.addRate('http_req_failed', {}, fault && i < 5, at(s));
      }
    }
    const [before, during, after] = summarizeIntervals(
      [
        { label: 'before', kind: 'phase', fromS: 0, toS: 9, thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<100'] } },
        { label: 'kill', kind: 'fault', fromS: 10, toS: 14, thresholds: { http_req_failed: ['rate<0.2'] } },
        { label: 'after', kind: 'recovery', fromS: 15, toS: 29, thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<100 over any 5s'] } },
      ],
      r,
    );
    expect(before).toMatchObject({ requests: 100, failed: 0, passed: true });
    expect(during).toMatchObject({ requests: 50, failed: 25, failedRate: 0.5, passed: false });
    expect(during!.p95).toBeGreaterThan(800);
    expect(during!.thresholds[0]).toMatchObject({ passed: false, observed: 0.5 });
    expect(after).toMatchObject({ requests: 150, failed: 0, passed: true });
    expect(after!.thresholds[1]).toMatchObject({ passed: true, worstWindowStart: expect.any(Number) });
    expect(after!.thresholds[1]!.worstWindowStart).toBeGreaterThanOrEqual(15);
  });

  it('turns injected faults into fault, recovery and before-faults intervals', () => {
    const faults = [
      { kind: 'kill' as const, startMs: START + 10_000, endMs: START + 25_400, detail: 'kill -9 i2' },
      { kind: 'redis' as const, startMs: START + 40_000, endMs: START + 45_000, detail: 'cut' },
    ];
    const specs = intervalsOf(faults, START, 60_000, { http_req_failed: ['rate<0.01'] }, 5_000);
    expect(specs.map((s) => [s.label, s.kind, s.fromS, s.toS])).toEqual([
      ['before faults', 'phase', 2, 9],
      ['kill', 'fault', 10, 25],
      ['after kill', 'recovery', 30, 39],
      ['redis', 'fault', 40, 45],
      ['after redis', 'recovery', 50, 59],
    ]);
    for (const s of specs) expect(Object.keys(s.thresholds ?? {})).toContain('ws_seq_gaps{channel:orders}');
  });
});

describe('fault schedule', () => {
  it('spreads one cycle of faults after the warm-up, and repeats whole cycles in longer runs', () => {
    const plan = planSchedule(['kill', 'stop', 'redis', 'pg', 'route'], 120_000);
    expect(plan.map((p) => p.kind)).toEqual(['kill', 'stop', 'redis', 'pg', 'route']);
    expect(plan.map((p) => p.atMs)).toEqual([10_000, 31_000, 52_000, 73_000, 94_000]);
    const long = planSchedule(['kill', 'stop'], 300_000);
    expect(long.length % 2).toBe(0);
    expect(long.length).toBeGreaterThan(2);
    expect(long.every((p, i) => i === 0 || p.atMs > long[i - 1]!.atMs)).toBe(true);
  });

  it('refuses a run too short for its faults, and unknown faults, saying what to change', () => {
    expect(() => planSchedule(['kill', 'stop', 'redis'], 30_000)).toThrow(/too short for 3 fault\(s\).*--duration 60s/);
    expect(() => parseFaults('kill,explode')).toThrow(/unknown fault "explode"/);
    expect(parseFaults(' pg , route ')).toEqual(['pg', 'route']);
  });
});

describe('fault proxy', () => {
  let echo: net.Server | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await new Promise((resolve) => (echo ? echo.close(resolve) : resolve(undefined)));
  });

  const roundTrip = (port: number, messages: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const expected = messages.join('').length;
      let received = '';
      socket.on('data', (d) => {
        received += d.toString();
        if (received.length >= expected) {
          socket.end();
          resolve(received);
        }
      });
      socket.on('error', reject);
      socket.on('connect', () => messages.forEach((m) => socket.write(m)));
    });

  it('forwards, delays in order while slow, refuses while cut, and forwards again once healed', async () => {
    // The cut resets the proxy's upstream connections: the echo server's side sees ECONNRESET.
    echo = net.createServer((s) => s.on('error', () => undefined).pipe(s));
    await new Promise<void>((resolve) => echo!.listen(0, '127.0.0.1', resolve));
    proxy = await FaultProxy.start({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
    const messages = Array.from({ length: 20 }, (_, i) => `<${i}>`);
    expect(await roundTrip(proxy.port, messages)).toBe(messages.join(''));
    proxy.slow(20);
    expect(await roundTrip(proxy.port, messages)).toBe(messages.join(''));
    proxy.cut();
    expect(proxy.state).toBe('cut');
    await expect(roundTrip(proxy.port, messages)).rejects.toThrow(/ECONNRESET|EPIPE|socket hang up/);
    proxy.heal();
    expect(await roundTrip(proxy.port, messages)).toBe(messages.join(''));
  });
});

describe('report bands', () => {
  it('shades each band behind the lines, labelled', () => {
    const svg = lineChart('latency', 'ms', [{ label: 'p95', color: '#000', points: [[0, 1], [10, 2]] }], [{ from: 3, to: 5, color: '#dc2626', label: 'kill' }]);
    expect(svg).toMatch(/<rect [^>]*fill="#dc2626"[^>]*><title>kill<\/title><\/rect><text[^>]*>kill<\/text>/);
    expect(svg.indexOf('<rect')).toBeLessThan(svg.indexOf('<polyline'));
  });
});
