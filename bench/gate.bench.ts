/**
 * The regression gate's workload (bench/baseline/quick.json, `.ci/run`): the platform's hottest
 * reads — a cached quote and the trader's portfolio — against a bare node:http server, in interleaved
 * rounds so each round's figures divide by the reference's of the same round. The ratios per round
 * are what `npm run bench -- --compare FILE` ranks against a baseline (bench/support/regression.ts).
 * Short on purpose (about 30 s quick): the gate runs on every landing, on a shared 2-core machine.
 */
import { loadavg } from 'node:os';
import { median } from './support/regression.ts';
import { BENCH_DEMO_TOKEN, startPlatform, startReference, type Server } from './support/processes.ts';
import { byProfile } from './support/profile.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';
import { interleavedRounds, roundRatios, type RoundFigures } from './support/rounds.ts';

const ROUNDS = Number(process.env.BENCH_GATE_ROUNDS ?? byProfile(6, 10));
const SECONDS = Number(process.env.BENCH_GATE_SECONDS ?? byProfile(1, 3));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REFERENCE = 'bare node:http (reference)';
const QUOTE = 'GET quote (cached)';
const PORTFOLIO = 'GET portfolio';

const loadBefore = loadavg()[0]!;
const servers: Server[] = [];
try {
  const bare = await startReference('bench/support/bare-server.mjs');
  servers.push(bare);
  const platform = await startPlatform({ TACHYON_RATE_LIMIT: '0', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0', TACHYON_SHED_HEAP_PERCENT: '0' });
  servers.push(platform);
  const auth = { authorization: `Bearer ${BENCH_DEMO_TOKEN}` };
  const cases = [
    { name: REFERENCE, url: `${bare.url}/` },
    { name: QUOTE, url: `${platform.url}/api/market-data/quotes/AAPL`, headers: auth },
    { name: PORTFOLIO, url: `${platform.url}/api/portfolio`, headers: auth },
  ];
  const runs = await interleavedRounds(cases, {
    rounds: ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    onMeasured: (round, name, f) => process.stderr.write(`  round ${round + 1}/${ROUNDS} ${name}: ${Math.round(f.requestsPerSecond)} req/s, p95 ${f.p95.toFixed(2)} ms\n`),
  });
  const med = (name: string, figure: keyof RoundFigures) => median((runs.get(name) ?? []).map((f) => f[figure]));
  const percentiles = (name: string) => ({ p50: med(name, 'p50'), p95: med(name, 'p95'), p99: med(name, 'p99') });
  const rounds: NonNullable<Headline['rounds']> = [
    { name: 'quote throughput ÷ bare node:http', unit: '×', better: 'higher', values: roundRatios(runs, QUOTE, REFERENCE, 'requestsPerSecond') },
    { name: 'portfolio throughput ÷ bare node:http', unit: '×', better: 'higher', values: roundRatios(runs, PORTFOLIO, REFERENCE, 'requestsPerSecond') },
    { name: 'quote p95 ÷ bare node:http', unit: '×', better: 'lower', values: roundRatios(runs, QUOTE, REFERENCE, 'p95') },
  ];
  const headline: Headline = {
    subject: 'GET /api/market-data/quotes/AAPL (cached read, every flag at its default)',
    reference: 'bare node:http',
    throughput: { unit: 'req/s', value: med(QUOTE, 'requestsPerSecond'), reference: med(REFERENCE, 'requestsPerSecond') },
    latencyMs: { value: percentiles(QUOTE), reference: percentiles(REFERENCE) },
    rounds,
  };
  printTable(
    cases.map((c) => ({
      case: c.name,
      'req/s (median)': Math.round(med(c.name, 'requestsPerSecond')),
      'p50 ms': med(c.name, 'p50').toFixed(2),
      'p95 ms': med(c.name, 'p95').toFixed(2),
      'p99 ms': med(c.name, 'p99').toFixed(2),
      errors: (runs.get(c.name) ?? []).reduce((s, f) => s + f.errors, 0),
    })),
  );
  for (const r of rounds) console.log(`${r.name}: median ${median(r.values).toFixed(3)} (rounds ${r.values.map((v) => v.toFixed(3)).join(', ')})`);
  const loadAfter = loadavg()[0]!;
  console.log(`${ROUNDS} rounds × ${SECONDS}s × ${CONNECTIONS} connections; load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}`);
  console.log(`results: ${writeResults('gate', { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, loadAverage: { before: loadBefore, after: loadAfter }, runs: Object.fromEntries(runs), headline })}`);
} finally {
  for (const s of servers) await s.stop();
}
