/**
 * Backtest throughput (bars/s) against the practical limit: a plain fused typed-array loop doing the
 * same SMA-crossover signal, next-open fill and mark-to-market with no engine, run on the same data
 * in the same process. Workloads:
 *   A. 1 symbol × 1 year of 1-minute bars, exchange session: 252 × 390 = 98,280 bars;
 *   B. 2,000 symbols × 5 years of daily bars: 2,000 × 1,260 = 2,520,000 bars.
 * The engine runs inline (one thread) and through the worker pool (B fans out over all cores).
 * Writes bench/results/backtest.json. The predictions-endpoint p95 is measured once the route exists.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as hdr from 'hdr-histogram-js';
import { DEFAULT_BACKTEST_OPTIONS, type BacktestOptions } from '../src/analysis/backtest-options.ts';
import { runBacktest, runPortfolioBacktest } from '../src/analysis/backtest.ts';
import { randomWalkPanel, randomWalkSeries, type BarPanel } from '../src/analysis/series.ts';
import { validateParams } from '../src/analysis/strategies/catalogue.ts';
import { AnalysisPool } from '../src/analysis/worker-pool.ts';

const FAST = 10;
const SLOW = 30;
const spec = validateParams('sma_crossover', { fastPeriod: FAST, slowPeriod: SLOW });

/**
 * The reference: one fused loop per symbol, running sums for both SMAs, all-in fractional sizing,
 * no costs, no trade records. Returns the summed final equity so the work cannot be optimized away.
 */
function referenceLoop(open: Float64Array, close: Float64Array, symbols: number, bars: number, capital: number): number {
  let total = 0;
  for (let k = 0; k < symbols; k++) {
    const base = k * bars;
    let fastSum = 0;
    let slowSum = 0;
    let cash = capital;
    let qty = 0;
    let signal = 0;
    let equity = capital;
    for (let i = 0; i < bars; i++) {
      const j = base + i;
      if (i > 0 && signal !== (qty > 0 ? 1 : 0)) {
        const o = open[j]!;
        if (qty > 0) {
          cash += qty * o;
          qty = 0;
        } else {
          qty = cash / o;
          cash = 0;
        }
      }
      const c = close[j]!;
      fastSum += c;
      slowSum += c;
      if (i >= FAST) fastSum -= close[j - FAST]!;
      if (i >= SLOW) slowSum -= close[j - SLOW]!;
      signal = i >= SLOW - 1 && fastSum / FAST > slowSum / SLOW ? 1 : 0;
      equity = cash + qty * c;
    }
    total += equity;
  }
  return total;
}

interface Measured {
  barsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  runs: number;
}

async function measure(bars: number, runs: number, warmup: number, fn: () => unknown): Promise<Measured> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < warmup; i++) await fn();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
  }
  const p50Ms = histogram.getValueAtPercentile(50) / 1000;
  return { barsPerSecond: Math.round(bars / (p50Ms / 1000)), p50Ms, p99Ms: histogram.getValueAtPercentile(99) / 1000, runs };
}

function asPanel(series: ReturnType<typeof randomWalkSeries>): BarPanel {
  return { symbols: ['MIN1'], bars: series.length, ...series };
}

/** Same rules as the reference (fractional, all-in, frictionless): the engine must land on the same equity. */
function checkAgreement(panel: BarPanel): number {
  const frictionless: BacktestOptions = { ...DEFAULT_BACKTEST_OPTIONS, commissionBps: 0, slippageBps: 0, fractionalShares: true, initialCash: 100_000 * panel.symbols.length };
  const engine = runPortfolioBacktest(panel, spec, frictionless).equity.value.at(-1)!;
  const reference = referenceLoop(panel.open, panel.close, panel.symbols.length, panel.bars, 100_000);
  return Math.abs(engine / reference - 1);
}

const threads = availableParallelism();
const pool = new AnalysisPool({ threads, taskTimeoutMs: 600_000 });
const options: BacktestOptions = { ...DEFAULT_BACKTEST_OPTIONS, fractionalShares: true };
const line = (name: string, m: Measured, ref: Measured) =>
  console.log(`  ${name.padEnd(34)} ${m.barsPerSecond.toLocaleString('en-US').padStart(14)} bars/s  p50 ${m.p50Ms.toFixed(2).padStart(9)} ms  p99 ${m.p99Ms.toFixed(2).padStart(9)} ms  ${(m.barsPerSecond / ref.barsPerSecond).toFixed(3)}× reference`);

console.log(`backtest bench — Node ${process.version}, ${threads} threads available, strategy SMA crossover ${FAST}/${SLOW}\n`);

// A: one symbol, a year of 1-minute bars (exchange session: 252 days × 390 minutes).
const minuteBars = 252 * 390;
const minute = randomWalkSeries(minuteBars, 42, 60_000);
const minuteOptions: BacktestOptions = { ...options, interval: '1m' };
const minuteDeviation = checkAgreement(asPanel(minute));
const a = {
  reference: await measure(minuteBars, 50, 10, () => referenceLoop(minute.open, minute.close, 1, minuteBars, 100_000)),
  inline: await measure(minuteBars, 50, 10, () => runBacktest('MIN1', minute, spec, minuteOptions)),
  pool: await measure(minuteBars, 50, 10, () => pool.backtest('MIN1', minute, spec, minuteOptions)),
};
console.log(`A. 1 symbol × ${minuteBars.toLocaleString('en-US')} 1-minute bars (252 × 390, exchange session); engine vs reference equity deviation ${minuteDeviation.toExponential(1)}`);
line('reference (plain typed-array loop)', a.reference, a.reference);
line('engine inline (1 thread)', a.inline, a.reference);
line('engine via worker pool (1 task)', a.pool, a.reference);

// B: 2,000 symbols × 5 years of daily bars, on one shared calendar.
const symbols = 2000;
const days = 5 * 252;
const panel = randomWalkPanel(symbols, days, 7);
const dailyBars = symbols * days;
const dailyDeviation = checkAgreement(panel);
const b = {
  reference: await measure(dailyBars, 10, 2, () => referenceLoop(panel.open, panel.close, symbols, days, 100_000)),
  inline: await measure(dailyBars, 10, 2, () => runPortfolioBacktest(panel, spec, options)),
  pool: await measure(dailyBars, 10, 2, () => pool.portfolio(panel, spec, options)),
};
console.log(`\nB. ${symbols.toLocaleString('en-US')} symbols × ${days.toLocaleString('en-US')} daily bars = ${dailyBars.toLocaleString('en-US')} bars; engine vs reference equity deviation ${dailyDeviation.toExponential(1)}`);
line('reference (plain typed-array loop)', b.reference, b.reference);
line('engine inline (1 thread)', b.inline, b.reference);
line(`engine via worker pool (${threads} threads)`, b.pool, b.reference);

await pool.close();
const result = {
  benchmark: 'backtest',
  date: new Date().toISOString(),
  node: process.version,
  threads,
  strategy: { type: spec.type, params: spec.params },
  minute: { symbols: 1, bars: minuteBars, session: '252 days × 390 minutes', equityDeviation: minuteDeviation, ...ratios(a) },
  daily: { symbols, barsPerSymbol: days, bars: dailyBars, equityDeviation: dailyDeviation, ...ratios(b) },
};
function ratios(m: { reference: Measured; inline: Measured; pool: Measured }) {
  return { ...m, inlineVsReference: m.inline.barsPerSecond / m.reference.barsPerSecond, poolVsReference: m.pool.barsPerSecond / m.reference.barsPerSecond };
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/backtest.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.log('\nwrote bench/results/backtest.json');
