/**
 * What a flag check costs on a hot path, beside its reference in the same run: a plain boolean
 * read. Measured: the accessor of a flag fully on (what every optimization flag is, outside a
 * rollout), of a flag rolled out to 10% of accounts (hash of flag and account id per call), and
 * of a flag at 10% of requests (one random draw). Each batch times BATCH calls; the HDR histogram
 * holds the batches' ns per call, rounds interleave the four so machine noise hits all alike.
 * One process, one core; the machine is shared: only the same-run ratios mean anything.
 */
import os from 'node:os';
import * as hdr from 'hdr-histogram-js';
import { FeatureFlags, type FlagAccessor } from '../src/config/flags.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const BATCH = Number(process.env.BENCH_BATCH ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const ACCOUNTS = 2_000;

const flags = new FeatureFlags();
const fullyOn = flags.register({ name: 'bench.on', description: 'fully on', default: true });
const byAccounts = flags.register({ name: 'bench.accounts', description: '10% of accounts', default: false });
const byRequests = flags.register({ name: 'bench.requests', description: '10% of requests', default: false });
flags.apply('bench.accounts', { mode: 'accounts', percent: 10 });
flags.apply('bench.requests', { mode: 'requests', percent: 10 });

const state = { enabled: true };
let sink = 0;

const cases: Array<{ name: string; run: () => void }> = [
  {
    name: 'plain boolean (reference)',
    run: () => {
      for (let i = 0; i < BATCH; i++) if (state.enabled) sink += i % ACCOUNTS;
    },
  },
  { name: 'flag fully on', run: () => loop(fullyOn) },
  { name: '10% of accounts', run: () => loop(byAccounts) },
  { name: '10% of requests', run: () => loop(byRequests) },
];

function loop(flag: FlagAccessor): void {
  for (let i = 0; i < BATCH; i++) if (flag(i % ACCOUNTS)) sink += i % ACCOUNTS;
}

const histograms = cases.map(() => hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 1_000_000, autoResize: true }));
const loadBefore = os.loadavg()[0]!;
// Warm-up: let the JIT settle on every case first.
for (let r = 0; r < 20; r++) for (const c of cases) c.run();
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, c] of cases.entries()) {
    const start = process.hrtime.bigint();
    c.run();
    // Picoseconds per call, so the HDR histogram keeps sub-nanosecond figures as integers.
    histograms[i]!.recordValue(Math.max(1, Math.round((Number(process.hrtime.bigint() - start) * 1000) / BATCH)));
  }
}
const loadAfter = os.loadavg()[0]!;

const ns = (h: hdr.Histogram, p: number) => h.getValueAtPercentile(p) / 1000;
const reference = ns(histograms[0]!, 50);
const figures = cases.map((c, i) => ({
  case: c.name,
  p50Ns: ns(histograms[i]!, 50),
  p90Ns: ns(histograms[i]!, 90),
  p99Ns: ns(histograms[i]!, 99),
  ratioP50: ns(histograms[i]!, 50) / reference,
  extraNsP50: ns(histograms[i]!, 50) - reference,
}));
printTable(
  figures.map((f) => ({
    case: f.case,
    'p50 ns/check': f.p50Ns.toFixed(2),
    'p90 ns/check': f.p90Ns.toFixed(2),
    'p99 ns/check': f.p99Ns.toFixed(2),
    '× reference (p50)': f.ratioP50.toFixed(2),
    '+ns vs reference (p50)': f.extraNsP50.toFixed(2),
  })),
);
console.log(`\n${ROUNDS} rounds × ${BATCH.toLocaleString('en')} checks per case; load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} on ${os.cpus().length} cores (shared)`);
const [ref, fullyOnCheck] = figures as [(typeof figures)[0], (typeof figures)[0]];
const headline: Headline = {
  subject: 'flag check, fully on',
  reference: 'plain boolean read (same run)',
  figures: [{ name: 'p50 per check', unit: 'ns', better: 'lower', value: fullyOnCheck.p50Ns, reference: ref.p50Ns }],
};
const file = writeResults('flags', { batch: BATCH, rounds: ROUNDS, loadAverage: { before: loadBefore, after: loadAfter }, figures, sink: sink > 0, headline });
console.log(`results: ${file}`);
