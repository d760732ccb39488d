// Preloaded into a benchmarked server (--import) to measure its event-loop delay over the bench's
// measured window: SIGUSR2 writes the histogram since the previous signal to BENCH_LOOP_DELAY_FILE
// (JSON, ms) and resets it. Plain JS: it loads before the TypeScript loader. bench/support/loop-delay.ts
// starts and reads it.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_DELAY_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  process.on('SIGUSR2', () => {
    const summary = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), p999: ms(histogram.percentile(99.9)), max: ms(histogram.max) };
    writeFileSync(file, JSON.stringify(summary));
    histogram.reset();
  });
}
