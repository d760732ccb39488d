/**
 * Regression detection (bench/support/regression.ts): the exact rank test, and on real HTTP servers
 * measured the way bench:gate measures (interleaved rounds, ratio to a same-round reference), a test
 * flag that adds a delay is detected as a regression failing the gate while repeated runs of the
 * unchanged server are not flagged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRounds, rankTest, type RoundsMetric } from '../../bench/support/regression.ts';
import { interleavedRounds, roundRatios } from '../../bench/support/rounds.ts';
import { FeatureFlags } from '../../src/config/flags.ts';

describe('rank test', () => {
  it('gives the exact Mann–Whitney p-values', () => {
    // 3 against 3 fully separated: 2 of C(6,3) = 20 arrangements are as extreme.
    expect(rankTest([1, 2, 3], [4, 5, 6])).toEqual({ u: 0, pValue: 0.1 });
    expect(rankTest([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).pValue).toBeCloseTo(2 / 252, 12);
    // Interleaved: U = 3 of 9, nothing unusual.
    expect(rankTest([1, 3, 5], [2, 4, 6]).pValue).toBeCloseTo(0.7, 12);
  });

  it('calls a clear 2× drop a gate failure, a small drift unchanged, too few rounds not comparable', () => {
    const metric = (values: number[], better: RoundsMetric['better'] = 'higher'): RoundsMetric => ({ bench: 'b', name: 'ratio', unit: '×', better, rounds: values });
    const base = metric([1, 1.08, 0.95, 1.03, 0.98]);
    const halved = compareRounds(base, metric([0.5, 0.52, 0.47, 0.55, 0.49]));
    expect(halved).toMatchObject({ verdict: 'regressed', gateFailure: true });
    expect(halved.worseFactor).toBeCloseTo(2, 1);
    expect(compareRounds(base, metric([0.97, 1.05, 1.01, 0.94, 1.0])).verdict).toBe('unchanged');
    // Lower is better (latency): the same halving is an improvement.
    expect(compareRounds(metric(base.rounds, 'lower'), metric([0.5, 0.52, 0.47, 0.55, 0.49], 'lower'))).toMatchObject({ verdict: 'improved', gateFailure: false });
    expect(compareRounds(metric([1, 1, 1]), metric([0.5, 0.5, 0.5])).verdict).toBe('not comparable');
  });
});

describe('on real servers, measured in interleaved rounds', () => {
  const flags = new FeatureFlags();
  const delayed = flags.register({ name: 'test.delay', description: 'adds 100 ms to every response (synthetic regression)', default: false });
  const servers: http.Server[] = [];
  const urls: string[] = [];
  const body = JSON.stringify({ symbol: 'AAPL', bid: 195.23, ask: 195.24 });
  const answer = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);

  beforeAll(async () => {
    const handlers: http.RequestListener[] = [
      (_req, res) => answer(res),
      (_req, res) => (delayed() ? setTimeout(() => answer(res), 100) : answer(res)),
    ];
    for (const handler of handlers) {
      const server = http.createServer(handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    }
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  async function measure(): Promise<RoundsMetric> {
    const runs = await interleavedRounds(
      [
        { name: 'reference', url: urls[0]! },
        { name: 'subject', url: urls[1]! },
      ],
      { rounds: 5, seconds: 1, connections: 4 },
    );
    return { bench: 'test', name: 'subject ÷ reference', unit: '×', better: 'higher', rounds: roundRatios(runs, 'subject', 'reference', 'requestsPerSecond') };
  }

  it('detects the delay flag as a regression far outside the noise, and never flags the unchanged server', async () => {
    flags.set('test.delay', false);
    const baseline = await measure();
    for (let repetition = 0; repetition < 3; repetition++) {
      const again = compareRounds(baseline, await measure());
      expect(again.gateFailure, again.note).toBe(false);
      expect(again.verdict, again.note).not.toBe('regressed');
    }
    flags.set('test.delay', true);
    const slow = compareRounds(baseline, await measure());
    expect(slow.verdict, slow.note).toBe('regressed');
    expect(slow.gateFailure, slow.note).toBe(true);
    expect(slow.confidence).toBeGreaterThan(0.95);
  }, 180_000);
});
