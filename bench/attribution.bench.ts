/**
 * `npm run bench:attribution`: what each optimization flag buys (bench/support/attribution.ts), measured
 * where it shows, at saturation. One platform (the real `tachyon start`, embedded default); the
 * trading-day mix from the platform's own load generator in this process (open model, latency from each
 * arrival's due time); every optimization on, every one off, and (full profile) each one off alone,
 * interleaved over rounds. Per configuration and round: the highest arrival rate whose p95 stays under
 * one target (a bounded search: step, then bisect) with its throughput, CPU per request and memory, and
 * p95 and CPU per request at an equal rate (half of all on's scouted maximum). Per flag: throughput at
 * equal p95 and its ratio to all on, with a rank-test verdict over rounds; the all-on / all-off ratio at
 * saturation with its confidence. Writes bench/results/attribution.json.
 *
 * Bounded: every probe lasts BENCH_ATTRIBUTION_SECONDS; a search takes at most 8 probes (a miss is
 * probed twice) and usually 3–4 after the first round (it starts from the last answer). Quick is all on
 * against all off only (5 rounds: about 5 minutes at load 16–21, start included); full adds each
 * optimization off alone (18 configurations, 5 rounds: 44 minutes quiet, as searches go further than on a
 * loaded machine, where stalls end them early; BENCH_ATTRIBUTION_ROUNDS and _SECONDS bound it).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ALL_OFF, ALL_ON, med, runAttribution, type ConfigRun, type Probe, type ProbeStage, type SaturationRun } from './support/attribution.ts';
import { BENCH_ADMIN_TOKEN, cpuSecondsOf, startPlatform } from './support/processes.ts';
import { byProfile } from './support/profile.ts';
import { median } from './support/regression.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const START_RATE = Number(process.env.BENCH_ATTRIBUTION_START ?? 20);
const SECONDS = Number(process.env.BENCH_ATTRIBUTION_SECONDS ?? 2);
// Five rounds a side is the fewest the rank test can call significant (p = 0.008).
const ROUNDS = Number(process.env.BENCH_ATTRIBUTION_ROUNDS ?? 5);
const PER_FLAG = (process.env.BENCH_ATTRIBUTION_PER_FLAG ?? byProfile('0', '1')) === '1';
const P95_TARGET_MS = process.env.BENCH_ATTRIBUTION_P95_MS ? Number(process.env.BENCH_ATTRIBUTION_P95_MS) : undefined;
// Enough that arrivals are dropped only once iterations (a market order waits for its fill) take far longer than any target: 200 VUs at 200/s is 1 s each.
const VUS = Number(process.env.BENCH_VUS ?? 200);
// Bisect to 12% with two configurations; with eighteen, stop at the step's 25% (a round's noise is larger still) to stay near 15 minutes.
const PRECISION = Number(process.env.BENCH_ATTRIBUTION_PRECISION ?? (PER_FLAG ? 1.25 : 1.12));

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`;
const percentiles = (runs: readonly ConfigRun[]) => ({ p50: med(runs, 'p50Ms'), p95: med(runs, 'p95Ms'), p99: med(runs, 'p99Ms') });
const maxOf = (s: SaturationRun) => `${s.failedAt === null ? '≥' : ''}${s.rate}/s`;
const loadBefore = loadavg()[0]!;
process.stderr.write(`attribution: ${PER_FLAG ? 'every configuration' : 'all on against all off'}, ${ROUNDS} rounds, ${SECONDS}s probes, bisecting to ${PRECISION}×, up to ${VUS} VUs; load average ${loadBefore.toFixed(2)}\n`);
const server = await startPlatform({ TACHYON_RATE_LIMIT: '0', TACHYON_SHED_EVENT_LOOP_DELAY_MS: '0', TACHYON_SHED_HEAP_PERCENT: '0' });
try {
  const onProbe = (stage: ProbeStage, p: Probe) =>
    process.stderr.write(
      `  ${elapsed()} ${stage.round === undefined ? stage.purpose : `round ${stage.round + 1}/${ROUNDS} ${stage.purpose}`} ${stage.config} at ${p.rate}/s: ${p.passed ? 'pass' : `miss (${p.why})`}; ${p.requestsPerSecond.toFixed(0)} req/s, p95 ${p.p95Ms.toFixed(1)} ms, ${p.cpuMsPerRequest.toFixed(2)} CPU ms/req; load ${loadavg()[0]!.toFixed(1)}\n`,
    );
  const result = await runAttribution({
    target: server.url,
    adminToken: BENCH_ADMIN_TOKEN,
    startRate: START_RATE,
    seconds: SECONDS,
    rounds: ROUNDS,
    vus: VUS,
    perFlag: PER_FLAG,
    precision: PRECISION,
    ...(P95_TARGET_MS === undefined ? {} : { p95TargetMs: P95_TARGET_MS }),
    cpuSeconds: () => cpuSecondsOf(server.pid),
    rssBytes: () => server.rss(),
    onProbe,
    onRound: (round, config, _atRate, s) =>
      process.stderr.write(`${elapsed()} round ${round + 1}/${ROUNDS} ${config}: max ${maxOf(s)} (${s.requestsPerSecond.toFixed(0)} req/s, ${s.probes} probes)\n`),
  });
  const T = result.p95TargetMs.toFixed(0);
  console.log(`\np95 target ${result.p95TargetMs.toFixed(1)} ms (${result.p95TargetSource}); all on scouted at ${result.scoutedRate} operations/s; equal rate ${result.equalRate} operations/s`);
  const allOn = result.saturation[ALL_ON]!;
  const verdictOf = (config: string) => (config === ALL_OFF ? result.allOnOverAllOff.verdict : (result.flags.find((f) => `${f.flag} off` === config)?.verdict ?? ''));
  printTable(
    Object.entries(result.saturation).map(([config, runs]) => ({
      configuration: config,
      [`max op/s at p95 ≤ ${T} ms`]: med(runs, 'rate'),
      'req/s': med(runs, 'requestsPerSecond').toFixed(0),
      '× all on': (med(runs, 'requestsPerSecond') / med(allOn, 'requestsPerSecond')).toFixed(2),
      'CPU ms/req (sat.)': med(runs, 'cpuMsPerRequest').toFixed(2),
      // Under one core at the maximum: the server was not CPU-bound (a shared machine's other processes were).
      'server cores (sat.)': median(runs.map((r) => (r.requestsPerSecond * r.grossCpuMsPerRequest) / 1000)).toFixed(2),
      [`p95 ms at ${result.equalRate}/s`]: med(result.configs[config]!, 'p95Ms').toFixed(1),
      [`CPU ms/req at ${result.equalRate}/s`]: med(result.configs[config]!, 'cpuMsPerRequest').toFixed(2),
      'RSS MiB': med(runs, 'rssMiB').toFixed(0),
      verdict: config === ALL_ON ? '(reference)' : verdictOf(config),
    })),
  );
  console.log(`held at their default (instrumentation, not optimizations): ${result.flags.filter((f) => f.kind === 'instrumentation').map((f) => f.flag).join(', ')}`);
  const o = result.allOnOverAllOff;
  const ratios = o.roundRatios.filter(Number.isFinite);
  console.log(
    `\nall on ÷ all off at saturation: ${o.throughput.toFixed(2)}× throughput at equal p95 (${o.maxRequestsPerSecond.off.toFixed(0)} → ${o.maxRequestsPerSecond.on.toFixed(0)} req/s; per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×), ` +
      `${o.capacity.toFixed(2)}× CPU per request at saturation (${o.cpuMsPerRequest.off.toFixed(2)} → ${o.cpuMsPerRequest.on.toFixed(2)} ms), p95 at ${result.equalRate}/s ${o.p95Ms.off.toFixed(1)} → ${o.p95Ms.on.toFixed(1)} ms; ${o.verdict}: ${o.detail}`,
  );
  if (o.throughput < 10) console.log(`short of 10× (${o.throughput.toFixed(2)}×): docs/benchmarks.md lists the optimizations this mix does not switch off and what they would need`);
  console.log(`idle server CPU (feed, timers; not charged to requests): ${result.idleCpuMsPerSecond.map((c) => c.toFixed(0)).join(', ')} ms per second by round`);
  const noGain = result.flags.filter((f) => f.verdict === 'no measurable gain').map((f) => f.flag);
  if (noGain.length > 0) console.log(`no measurable gain on this mix: ${noGain.join(', ')}`);
  const loadAfter = loadavg()[0]!;
  console.log(`${ROUNDS} rounds × ${Object.keys(result.saturation).length} configurations, ${result.probes} probes of ${SECONDS}s, ${elapsed()} in all; load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} (smoke when loaded)`);
  const headline: Headline = {
    subject: 'trading-day mix, every optimization on',
    reference: 'every optimization off (same run)',
    throughput: { unit: `req/s at p95 ≤ ${T} ms`, value: o.maxRequestsPerSecond.on, reference: o.maxRequestsPerSecond.off },
    latencyMs: { value: percentiles(result.configs[ALL_ON]!), reference: percentiles(result.configs[ALL_OFF]!) },
    rounds: [{ name: 'all on ÷ all off, throughput at equal p95', unit: '×', better: 'higher', values: o.roundRatios }],
  };
  console.log(
    `results: ${writeResults('attribution', { startRate: START_RATE, seconds: SECONDS, rounds: ROUNDS, vus: VUS, perFlag: PER_FLAG, precision: PRECISION, elapsedSeconds: (performance.now() - started) / 1000, loadAverage: { before: loadBefore, after: loadAfter }, ...result, headline })}`,
  );
} finally {
  await server.stop();
}
