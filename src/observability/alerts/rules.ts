/**
 * The alert rules, defined once. Each rule carries its PromQL (deploy/prometheus/*.yml is generated
 * from this list; a test checks the committed files match and promtool accepts them) and an
 * evaluator over the same signals measured in-process, so the embedded deployment alerts without a
 * Prometheus server. The in-process evaluators read this instance's sliding windows; PromQL reads
 * the scraped series per instance—the same definition, two engines.
 */
import { MINUTE_MS } from '../windows.ts';

/** What the in-process evaluators read (implemented over the Metrics windows by Observability). */
export interface Signals {
  /** HTTP latency percentile (ms) over the window; 0 without traffic. */
  httpPercentileMs(p: 95 | 99, windowMs: number): number;
  /** Requests per second over the window. */
  httpRequestRate(windowMs: number): number;
  /** Fraction of requests answered 5xx over the window. */
  httpErrorRatio(windowMs: number): number;
  /** Fraction of requests slower than the latency SLO threshold over the window. */
  httpSlowRatio(windowMs: number): number;
  /** CPU time / (wall time × cores) over the window; undefined before the first sample. */
  cpuUtilization(windowMs: number): number | undefined;
  /** RSS / the instance's memory budget. */
  memoryUtilization(): number;
  /** Tasks waiting in the analysis queue (0 when no queue is registered). */
  queueDepth(): Promise<number>;
  /** 1 while this instance's trading engine is halted or recovering (orders answer 503), else 0. */
  tradingHalted(): Promise<number>;
  /** 1 while the memory watch suspects a leak (post-GC heap growing steadily over its window), else 0. */
  leakSuspected(): Promise<number>;
}

export interface AlertRule {
  name: string;
  severity: 'page' | 'ticket';
  /** How long the condition must hold before the alert fires. */
  forMs: number;
  /** PromQL; the alert is active while it returns series. */
  expr: string;
  summary: string;
  /** In-process value of the condition's left-hand side, compared with `threshold`. */
  value(signals: Signals): number | undefined | Promise<number | undefined>;
  threshold: number;
  /** The signal is the same on every instance (the shared queue): only the cluster's leader evaluates it, so it notifies once. */
  shared?: true;
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export const SLO = {
  /** 99.9% of requests answered without a 5xx over 30 days. */
  availability: 0.999,
  /** 99% of requests answered within the latency threshold over 30 days. */
  latency: 0.99,
  latencyThresholdSeconds: 0.1,
} as const;

const DURATION = 'tachyon_http_request_duration_seconds';
const rate = (selector: string, window: string) => `sum by (instance) (rate(${DURATION}_${selector}[${window}]))`;

/**
 * Traffic below which the HTTP latency and error rules stay silent: an idle instance answers a few
 * scrapes and health checks, and one slow scrape among twenty is a p95 of the scrape, not a user's
 * latency. One request per second gives a 5-minute p95 at least 15 samples above it.
 */
export const MIN_REQUESTS_PER_SECOND = 1;
const WINDOW_MS: Record<string, number> = { '5m': 5 * MINUTE_MS, '30m': 30 * MINUTE_MS, '1h': 60 * MINUTE_MS, '6h': 360 * MINUTE_MS };
/** PromQL: keeps the left-hand side's series only where the instance served enough requests. */
const withTraffic = (condition: string, window: string) => `(${condition}) and on (instance) ${rate('count', window)} > ${MIN_REQUESTS_PER_SECOND}`;
/** In-process counterpart: no value (no data, never pending) below the minimum traffic. */
const ifTraffic = (s: Signals, window: string, value: () => number): number | undefined =>
  s.httpRequestRate(WINDOW_MS[window]!) > MIN_REQUESTS_PER_SECOND ? value() : undefined;

/** Burn-rate windows (Google SRE workbook, multiwindow multi-burn-rate): long, short, burn factor. */
const BURNS = [
  { severity: 'page', long: '1h', short: '5m', factor: 14.4, forMs: 2 * MINUTE_MS },
  { severity: 'ticket', long: '6h', short: '30m', factor: 6, forMs: 15 * MINUTE_MS },
] as const;
const SLO_WINDOWS = Object.keys(WINDOW_MS);

export const RECORDING_RULES: RecordingRule[] = SLO_WINDOWS.flatMap((w) => [
  { record: `tachyon:http_error_ratio:rate${w}`, expr: `${rate('count{status_code=~"5.."}', w)} / ${rate('count', w)}` },
  { record: `tachyon:http_slow_ratio:rate${w}`, expr: `1 - ${rate(`bucket{le="${SLO.latencyThresholdSeconds}"}`, w)} / ${rate('count', w)}` },
]);

function burnRules(sli: 'error' | 'slow', title: string, objective: number): AlertRule[] {
  const budget = Math.round((1 - objective) * 1e6) / 1e6;
  const ratio = (s: Signals, ms: number) => (sli === 'error' ? s.httpErrorRatio(ms) : s.httpSlowRatio(ms));
  return BURNS.map((b) => ({
    name: `Tachyon${title}BudgetBurn${b.severity === 'page' ? 'Fast' : 'Slow'}`,
    severity: b.severity,
    forMs: b.forMs,
    expr: withTraffic(`tachyon:http_${sli}_ratio:rate${b.long} > (${b.factor} * ${budget}) and tachyon:http_${sli}_ratio:rate${b.short} > (${b.factor} * ${budget})`, b.short),
    summary: `${title} SLO (${objective * 100}%) error budget burning ${b.factor}× too fast over ${b.long} and ${b.short}`,
    // Both windows must burn: the smaller burn rate is the one compared with the factor.
    value: (s) => ifTraffic(s, b.short, () => Math.min(ratio(s, WINDOW_MS[b.long]!), ratio(s, WINDOW_MS[b.short]!)) / budget),
    threshold: b.factor,
  }));
}

export const ALERT_RULES: AlertRule[] = [
  {
    name: 'TachyonHighLatencyP95',
    severity: 'page',
    // Longer than the first start's background seeding, which may slow requests for a few minutes.
    forMs: 10 * MINUTE_MS,
    expr: withTraffic(`histogram_quantile(0.95, sum by (instance, le) (rate(${DURATION}_bucket[5m]))) > 0.05`, '5m'),
    summary: 'HTTP p95 latency above 50 ms for 10 minutes (with at least 1 request/s)',
    value: (s) => ifTraffic(s, '5m', () => s.httpPercentileMs(95, 5 * MINUTE_MS) / 1000),
    threshold: 0.05,
  },
  {
    name: 'TachyonHighErrorRate',
    severity: 'page',
    forMs: 5 * MINUTE_MS,
    expr: withTraffic(`${rate('count{status_code=~"5.."}', '5m')} / ${rate('count', '5m')} > 0.01`, '5m'),
    summary: 'More than 1% of HTTP requests fail (5xx) for 5 minutes (with at least 1 request/s)',
    value: (s) => ifTraffic(s, '5m', () => s.httpErrorRatio(5 * MINUTE_MS)),
    threshold: 0.01,
  },
  {
    name: 'TachyonHighCpu',
    severity: 'ticket',
    forMs: 10 * MINUTE_MS,
    expr: 'rate(process_cpu_seconds_total[5m]) / tachyon_cpu_cores > 0.8',
    summary: 'CPU utilization above 80% for 10 minutes',
    value: (s) => s.cpuUtilization(5 * MINUTE_MS),
    threshold: 0.8,
  },
  {
    name: 'TachyonHighMemory',
    severity: 'ticket',
    forMs: 10 * MINUTE_MS,
    expr: 'process_resident_memory_bytes / tachyon_memory_limit_bytes > 0.8',
    summary: 'Resident memory above 80% of the instance budget for 10 minutes',
    value: (s) => s.memoryUtilization(),
    threshold: 0.8,
  },
  {
    name: 'TachyonQueueDepthHigh',
    severity: 'ticket',
    forMs: 5 * MINUTE_MS,
    expr: 'sum by (instance) (tachyon_task_queue_depth) > 100',
    summary: 'More than 100 analysis tasks waiting for 5 minutes',
    value: (s) => s.queueDepth(),
    threshold: 100,
    shared: true,
  },
  {
    name: 'TachyonTradingHalted',
    severity: 'page',
    // A commit failure the database recovers from rebuilds in seconds; two minutes is a database that stays away.
    forMs: 2 * MINUTE_MS,
    expr: 'max by (instance) (tachyon_trading_engine_state{state=~"halted|recovering"}) > 0',
    summary: 'Trading engine halted or recovering for 2 minutes: orders answer 503 (journal commits fail)',
    value: (s) => s.tradingHalted(),
    threshold: 0,
  },
  {
    name: 'TachyonMemoryLeakSuspected',
    severity: 'ticket',
    // The suspicion already needs a steady post-GC growth over the watch's window (default 10 minutes);
    // a few more minutes keeps one that clears by itself (a cache filling up) from opening a ticket.
    forMs: 5 * MINUTE_MS,
    expr: 'max by (instance) (tachyon_memory_leak_suspected) > 0',
    summary: 'Post-GC heap grows steadily: a leak is suspected; GET /api/performance/memory/leaks names what grows',
    value: (s) => s.leakSuspected(),
    threshold: 0,
  },
  ...burnRules('error', 'Availability', SLO.availability),
  ...burnRules('slow', 'Latency', SLO.latency),
];
