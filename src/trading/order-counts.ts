/**
 * Cumulative order outcomes, rejections by reason and fills since start, kept by the engine (one
 * increment each) and read at scrape time as tachyon_orders_total{outcome},
 * tachyon_order_rejections_total{reason} and tachyon_fills_total. Counted here rather than from bus
 * events, which in scaled mode also carry other instances' orders and miss rate-limit refusals.
 */
import type { OrderEventType } from './dto.ts';

/** A partial fill is not an outcome: it counts in `fills`. */
export type OrderOutcome = Exclude<OrderEventType, 'partially_filled'>;

export class OrderCounts {
  readonly outcomes: Record<OrderOutcome, number> = { accepted: 0, rejected: 0, filled: 0, cancelled: 0, expired: 0 };
  /** Keyed by rejection code (a bounded set of risk-check codes). */
  readonly rejections: Record<string, number> = {};
  fills = 0;

  /** One committed order event; every fill (an execution) emits exactly one `filled` or `partially_filled`. */
  event(type: OrderEventType, rejectReason: string | null): void {
    if (type === 'rejected') return this.rejected(rejectReason ?? 'unknown');
    if (type === 'filled' || type === 'partially_filled') this.fills++;
    if (type !== 'partially_filled') this.outcomes[type]++;
  }

  /** Also called for refusals that never become an order (the per-account rate limit). */
  rejected(reason: string): void {
    this.outcomes.rejected++;
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
  }
}
