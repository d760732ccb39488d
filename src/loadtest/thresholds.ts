/**
 * Pass/fail criteria in k6's syntax, plus sliding windows:
 *   http_req_duration: ['p(95)<200', 'p(99)<500', 'avg<50', 'med<20', 'max<2000']
 *   http_req_failed: ['rate<0.01']            http_reqs: ['count>1000', 'rate>500']   (counter rate = per second)
 *   'http_req_duration{endpoint:quotes}': [{ threshold: 'p(99)<50', abortOnFail: true, delayAbortEval: '10s' }]
 *   http_req_duration: ['p(95)<200 over any 30s']   (every 30 s window must pass: a sustained breach fails
 *                                                     the run even when the whole-run percentile hides it)
 */
import { BadRequestError } from '../kernel/errors.ts';
import { parseDuration } from './duration.ts';
import { percentileMs, US_PER_MS } from '../kernel/histogram.ts';
import { aggregate } from './metrics.ts';
import type { Aggregate, MetricKind, MetricsRegistry, Tags } from './metrics.ts';
import type { ThresholdInput } from './scenario.ts';

export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type Aggregation = { kind: 'percentile'; p: number } | { kind: 'avg' | 'min' | 'max' | 'med' | 'rate' | 'count' };

export interface Threshold {
  /** The key as written, e.g. `http_req_duration{endpoint:quotes}`. */
  key: string;
  metric: string;
  selector: Tags;
  /** The expression as written, e.g. `p(95)<200 over any 30s`. */
  source: string;
  aggregation: Aggregation;
  operator: Operator;
  value: number;
  windowSeconds?: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

export interface ThresholdResult {
  key: string;
  source: string;
  passed: boolean;
  /** Observed value (for a window threshold: the worst window's); null when the metric had no data. */
  observed: number | null;
  /** For window thresholds: the worst window's start (seconds since run start). */
  worstWindowStart?: number;
  noData: boolean;
  abortOnFail: boolean;
}

const KEY_RE = /^\s*([A-Za-z_][\w.-]*)\s*(?:\{([^}]*)\})?\s*$/;
const EXPR_RE = /^\s*(p\(\s*(\d+(?:\.\d+)?)\s*\)|avg|min|max|med|rate|count)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(?:over\s+any\s+(\S+))?\s*$/;

export function parseThresholds(input: ThresholdInput = {}): Threshold[] {
  const out: Threshold[] = [];
  for (const [key, list] of Object.entries(input)) {
    const keyMatch = KEY_RE.exec(key);
    if (!keyMatch) throw new BadRequestError(`threshold key "${key}": expected metric or metric{tag:value,…}`);
    const selector = parseSelector(key, keyMatch[2]);
    if (!Array.isArray(list)) throw new BadRequestError(`threshold "${key}": expected a list of expressions`);
    for (const item of list) {
      const spec = typeof item === 'string' ? { threshold: item } : item;
      out.push({
        key: key.trim(),
        metric: keyMatch[1] as string,
        selector,
        ...parseExpression(key, spec.threshold),
        abortOnFail: spec.abortOnFail ?? false,
        delayAbortEvalMs: spec.delayAbortEval === undefined ? 0 : parseDuration(spec.delayAbortEval),
      });
    }
  }
  return out;
}

function parseSelector(key: string, body: string | undefined): Tags {
  const selector: Record<string, string> = {};
  if (!body?.trim()) return selector;
  for (const pair of body.split(',')) {
    const at = pair.indexOf(':');
    const name = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim().replace(/^(['"])(.*)\1$/, '$2');
    if (at < 1 || !name || !value) throw new BadRequestError(`threshold key "${key}": bad tag selector "${pair.trim()}" (expected tag:value)`);
    selector[name] = value;
  }
  return selector;
}

function parseExpression(key: string, source: string): Pick<Threshold, 'source' | 'aggregation' | 'operator' | 'value' | 'windowSeconds'> {
  const m = typeof source === 'string' ? EXPR_RE.exec(source) : null;
  if (!m) throw new BadRequestError(`threshold "${key}: ${String(source)}": expected e.g. p(95)<200, avg<50, rate<0.01, count>100, optionally "over any 30s"`);
  const [, agg, p, operator, value, window] = m;
  let aggregation: Aggregation;
  if (p !== undefined) {
    const pct = Number(p);
    if (pct <= 0 || pct > 100) throw new BadRequestError(`threshold "${key}: ${source}": percentile must be in (0, 100]`);
    aggregation = { kind: 'percentile', p: pct };
  } else aggregation = { kind: agg as 'avg' | 'min' | 'max' | 'med' | 'rate' | 'count' };
  let windowSeconds: number | undefined;
  if (window !== undefined) {
    const ms = parseDuration(window);
    if (ms < 1000 || ms % 1000 !== 0) throw new BadRequestError(`threshold "${key}: ${source}": window must be whole seconds (≥ 1s)`);
    windowSeconds = ms / 1000;
  }
  return { source: source.trim(), aggregation, operator: operator as Operator, value: Number(value), windowSeconds };
}

const ALLOWED: Record<MetricKind, ReadonlyArray<Aggregation['kind']>> = {
  trend: ['percentile', 'avg', 'min', 'max', 'med', 'count'],
  counter: ['count', 'rate'],
  rate: ['rate', 'count'],
};

/** Reduces an aggregate to the number a threshold compares; undefined when there is no data. */
export function observe(agg: Aggregate, aggregation: Aggregation, seconds: number): number | undefined {
  if (agg.kind === 'trend') {
    const h = agg.histogram;
    if (!h || h.totalCount === 0) return undefined;
    switch (aggregation.kind) {
      case 'percentile': return percentileMs(h, aggregation.p);
      case 'med': return percentileMs(h, 50);
      case 'avg': return h.mean / US_PER_MS;
      case 'min': return h.minNonZeroValue / US_PER_MS;
      case 'max': return h.maxValue / US_PER_MS;
      case 'count': return h.totalCount;
      default: return undefined;
    }
  }
  if (agg.kind === 'counter') {
    if (agg.seconds === 0) return undefined;
    return aggregation.kind === 'rate' ? agg.sum / Math.max(seconds, 1e-9) : agg.sum;
  }
  if (agg.total === 0) return undefined;
  return aggregation.kind === 'count' ? agg.pass : agg.pass / agg.total;
}

function compare(observed: number, op: Operator, value: number): boolean {
  switch (op) {
    case '<': return observed < value;
    case '<=': return observed <= value;
    case '>': return observed > value;
    case '>=': return observed >= value;
    case '==': return observed === value;
    case '!=': return observed !== value;
  }
}

export interface EvaluationScope {
  /** Whole-run length in seconds (for counters' per-second rate). */
  runSeconds: number;
  /** Only seconds ≤ this are complete and considered (live evaluation); default: everything. */
  lastCompleteSecond?: number;
  /** Only seconds ≥ this are considered (an interval of the run, such as a fault); default 0. */
  firstSecond?: number;
  /** Live evaluation checks only the latest window of a sliding-window threshold. */
  latestWindowOnly?: boolean;
}

export function evaluateThreshold(t: Threshold, registry: MetricsRegistry, scope: EvaluationScope): ThresholdResult {
  const base = { key: t.key, source: t.source, abortOnFail: t.abortOnFail };
  const kind = registry.kindOf(t.metric);
  const series = registry.select(t.metric, t.selector);
  if (kind === undefined || series.length === 0) return { ...base, passed: true, observed: null, noData: true };
  if (!ALLOWED[kind].includes(t.aggregation.kind)) {
    throw new BadRequestError(`threshold "${t.key}: ${t.source}": ${t.aggregation.kind} does not apply to ${kind} metric ${t.metric}`);
  }
  const last = scope.lastCompleteSecond ?? registry.lastSecond();
  const first = scope.firstSecond ?? 0;
  if (t.windowSeconds === undefined) {
    const agg = aggregate(series, first, last) as Aggregate;
    const observed = observe(agg, t.aggregation, scope.runSeconds);
    if (observed === undefined) return { ...base, passed: true, observed: null, noData: true };
    return { ...base, passed: compare(observed, t.operator, t.value), observed, noData: false };
  }
  // Sliding windows step by one second; a run shorter than the window is judged as one window.
  const w = t.windowSeconds;
  const firstStart = scope.latestWindowOnly ? Math.max(first, last - w + 1) : first;
  const lastStart = Math.max(first, last - w + 1);
  let worst: { observed: number; start: number; passed: boolean } | undefined;
  for (let start = firstStart; start <= lastStart; start++) {
    const agg = aggregate(series, start, start + w - 1) as Aggregate;
    const observed = observe(agg, t.aggregation, Math.min(w, last - first + 1));
    if (observed === undefined) continue;
    const passed = compare(observed, t.operator, t.value);
    // "Worst" = first failing window, else the one closest to the limit.
    if (!worst || (!passed && worst.passed) || (passed === worst.passed && worse(observed, worst.observed, t.operator))) worst = { observed, start, passed };
  }
  if (!worst) return { ...base, passed: true, observed: null, noData: true };
  return { ...base, passed: worst.passed, observed: worst.observed, worstWindowStart: worst.start, noData: false };
}

function worse(a: number, b: number, op: Operator): boolean {
  return op === '>' || op === '>=' ? a < b : a > b;
}

export function evaluateThresholds(thresholds: readonly Threshold[], registry: MetricsRegistry, scope: EvaluationScope): ThresholdResult[] {
  return thresholds.map((t) => evaluateThreshold(t, registry, scope));
}
