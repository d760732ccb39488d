/**
 * The trading engine's order counts as Prometheus counters: tachyon_orders_total{outcome},
 * tachyon_order_rejections_total{reason}, tachyon_fills_total. The engine keeps plain numbers (one
 * increment per event); the counters copy them at scrape time only.
 */
import type { Counter } from 'prom-client';
import type { Metrics } from './metrics.ts';

export interface TradingCounts {
  readonly outcomes: Readonly<Record<string, number>>;
  readonly rejections: Readonly<Record<string, number>>;
  readonly fills: number;
}

/** Sets a counter's series to the source's cumulative values (prom-client counters only go up by inc). */
function copy<L extends string>(counter: Counter<L>, label: L, values: Readonly<Record<string, number>>): void {
  counter.reset();
  for (const [key, n] of Object.entries(values)) counter.inc({ [label]: key } as Partial<Record<L, string>>, n);
}

export function registerTradingCounters(metrics: Metrics, counts: TradingCounts): void {
  metrics.counter({
    name: 'tachyon_orders_total',
    help: 'Orders by outcome (accepted, rejected, filled, cancelled, expired)',
    labelNames: ['outcome'],
    collect() {
      copy(this, 'outcome', counts.outcomes);
    },
  });
  metrics.counter({
    name: 'tachyon_order_rejections_total',
    help: 'Order rejections by reason (risk-check code, rate limit)',
    labelNames: ['reason'],
    collect() {
      copy(this, 'reason', counts.rejections);
    },
  });
  metrics.counter({
    name: 'tachyon_fills_total',
    help: 'Executions (full and partial fills)',
    collect() {
      this.reset();
      this.inc(counts.fills);
    },
  });
}
