/**
 * Cache warming before readiness: a starting instance (the first, or a new one in a deploy) fills the hot
 * classes — the instrument list, the latest bars of the most traded symbols, the strategy performance most
 * recently computed — before /api/health/ready says ready, so the first users after a deploy meet hits.
 *
 * It requests the routes themselves, so every entry has exactly the key, body and tags a real request would
 * store; private classes are requested as their owner, with a one-time internal ticket. Over the loopback, once
 * listening, not through app.inject: light-my-request's request and response classes would leave node's own
 * response internals polymorphic for the life of the process (docs/benchmarks.md, session 18).
 * Bounded by a deadline: a slow database delays readiness by at most `timeoutMs`, never forever.
 */
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.ts';
import type { Queryable } from '../db/database.ts';
import type { Clock } from '../kernel/clock.ts';

export interface WarmTarget {
  cls: 'instruments' | 'historicalBars' | 'strategyPerformance';
  url: string;
  principal: Principal;
}

export interface WarmReport {
  /** Entries requested per class, and how many answered 2xx. */
  requested: Record<WarmTarget['cls'], number>;
  warmed: Record<WarmTarget['cls'], number>;
  durationMs: number;
  /** The deadline passed before every target was requested. */
  timedOut: boolean;
}

export interface CacheWarmerOptions {
  /** Most traded symbols whose latest bars are warmed. */
  symbols: number;
  /** Most recently computed strategy performances warmed. */
  strategies: number;
  timeoutMs: number;
}

export interface CacheWarmerDeps {
  db: Queryable;
  clock: Clock;
  logger: Logger;
  /** Runs a GET of `path` against this instance's own routes as `principal`; resolves to the status code. */
  request(path: string, principal: Principal): Promise<number>;
  options: CacheWarmerOptions;
}

/** Public classes are requested as nobody in particular: their entries are shared by every user. */
const WARMER: Principal = { userId: 0, name: 'cache-warmer', role: 'trader', accountIds: [] };
const DAY_MS = 86_400_000;
/** Requests in flight at once (the loopback pool's connections). */
export const WARM_PARALLEL = 4;

export class CacheWarmer {
  private finished = false;
  private last: WarmReport | undefined;

  constructor(private readonly deps: CacheWarmerDeps) {}

  /** True once a warm-up has ended (done, failed or timed out): readiness waits for it. */
  get done(): boolean {
    return this.finished;
  }

  get report(): WarmReport | undefined {
    return this.last;
  }

  async warm(): Promise<WarmReport> {
    const started = this.deps.clock.now();
    const deadline = started + this.deps.options.timeoutMs;
    const empty = () => ({ instruments: 0, historicalBars: 0, strategyPerformance: 0 });
    const report: WarmReport = { requested: empty(), warmed: empty(), durationMs: 0, timedOut: false };
    try {
      const queue = await this.targets();
      const worker = async () => {
        for (let target = queue.shift(); target; target = queue.shift()) {
          if (this.deps.clock.now() > deadline) {
            report.timedOut = true;
            return;
          }
          report.requested[target.cls]++;
          const status = await this.deps.request(target.url, target.principal).catch(() => 0);
          if (status >= 200 && status < 300) report.warmed[target.cls]++;
        }
      };
      await Promise.all(Array.from({ length: WARM_PARALLEL }, worker));
    } catch (error) {
      // Warming is an optimization: a failure costs the first users a miss, never the instance its readiness.
      this.deps.logger.warn({ err: error }, 'cache warming failed; serving cold');
    } finally {
      report.durationMs = this.deps.clock.now() - started;
      this.last = report;
      this.finished = true;
    }
    this.deps.logger.info({ cacheWarm: report }, 'cache warmed');
    return report;
  }

  /** What to request, hottest first: the instrument list, the most traded symbols' bars, recent performances. */
  async targets(): Promise<WarmTarget[]> {
    const { db, options } = this.deps;
    const since = new Date(this.deps.clock.now() - DAY_MS);
    // Traded volume over the last day (the executions' current months only), topped up by typical volume.
    const symbols = await db.query<{ symbol: string }>(
      `SELECT i.symbol FROM instruments i
         LEFT JOIN (SELECT instrument_id, sum(quantity) AS traded FROM trading_executions WHERE ts >= $1 GROUP BY 1) e ON e.instrument_id = i.id
        WHERE i.tradable ORDER BY coalesce(e.traded, 0) DESC, i.avg_volume DESC, i.symbol LIMIT $2`,
      [since, options.symbols],
    );
    const strategies = await db.query<{ id: string; user_id: string; name: string; role: Principal['role'] }>(
      `SELECT s.id, s.user_id, u.name, u.role FROM strategy_performance p JOIN strategies s ON s.id = p.strategy_id JOIN users u ON u.id = s.user_id
        ORDER BY p.computed_at DESC LIMIT $1`,
      [options.strategies],
    );
    return [
      { cls: 'instruments', url: '/api/instruments', principal: WARMER },
      ...symbols.rows.map((r): WarmTarget => ({ cls: 'historicalBars', url: `/api/market-data/bars/${encodeURIComponent(r.symbol)}`, principal: WARMER })),
      ...strategies.rows.map(
        (r): WarmTarget => ({
          cls: 'strategyPerformance',
          url: `/api/strategies/${r.id}/performance`,
          principal: { userId: Number(r.user_id), name: r.name, role: r.role, accountIds: [] },
        }),
      ),
    ];
  }
}
