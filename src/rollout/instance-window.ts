/**
 * What the canary analysis reads from each instance: its Prometheus /metrics, the same series an Argo
 * Rollouts AnalysisTemplate queries on Kubernetes (src/rollout/kubernetes.ts), so the local judge and
 * the cluster one look at the same numbers, and an instance of an older checkout answers too (no new
 * endpoint needed). Two scrapes bound a window; their difference is the window's
 *  - latency histogram (tachyon_http_request_duration_seconds buckets, summed over API routes; health
 *    checks, /metrics and the performance API are left out: the balancer and the analysis make them) of
 *    each instance's own time: a request it forwarded to the account's owner counts without finding
 *    the owner and waiting for it (tachyon_http_forwarded_request_duration_seconds: its bucket moves from time="total" to
 *    time="own"). Like is compared with like: a canary owns no account shards, so it forwards every order
 *    while a stable instance forwards only those of its peers' accounts; the hop is topology, not the build,
 *    and the owner's own time is judged where it is spent (an older build without that histogram counts whole);
 *  - requests and 5xx answers (the same histogram's counts by status),
 *  - orders submitted (tachyon_orders_total accepted + rejected) and rejected (tachyon_order_rejections_total),
 * and every scrape in between adds one event-loop delay sample (nodejs_eventloop_lag_p99_seconds, which
 * prom-client resets at each scrape: the p99 since the previous one).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (comments skipped; label values unescaped). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    if (space < 0) continue;
    const labels: Record<string, string> = {};
    let name: string;
    if (brace >= 0 && brace < space) {
      name = line.slice(0, brace);
      const body = line.slice(brace + 1, line.lastIndexOf('}'));
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let m = re.exec(body); m; m = re.exec(body)) labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    } else {
      name = line.slice(0, line.indexOf(' '));
    }
    const value = Number(line.slice(space + 1));
    if (name !== '' && !Number.isNaN(value)) samples.push({ name, labels, value });
  }
  return samples;
}

export interface InstanceSnapshot {
  at: number;
  /** Upper bounds (seconds, +Inf last) of the latency buckets. */
  bounds: number[];
  /** Cumulative count per bound, summed over the analysed routes. */
  cumulative: number[];
  requests: number;
  errors: number;
  orders: number;
  rejections: number;
  /** p99 event-loop delay since the previous scrape, seconds. */
  loopP99: number;
}

const HISTOGRAM = 'tachyon_http_request_duration_seconds';
const FORWARDED = 'tachyon_http_forwarded_request_duration_seconds_bucket';
/** Route prefixes of requests the rollout machinery itself makes (checks, scrapes, the admin API), not users' traffic. */
export const EXCLUDED_ROUTE_PREFIXES = ['/api/health', '/metrics', '/api/performance', '/performance', 'unmatched'];
const EXCLUDED_ROUTES = new RegExp(`^(${EXCLUDED_ROUTE_PREFIXES.join('|')})`);

export function snapshotOf(samples: readonly Sample[], at: number): InstanceSnapshot {
  const byBound = new Map<number, number>();
  let requests = 0;
  let errors = 0;
  let orders = 0;
  let rejections = 0;
  let loopP99 = 0;
  for (const s of samples) {
    if (s.name === `${HISTOGRAM}_bucket` || s.name === `${HISTOGRAM}_count`) {
      if (EXCLUDED_ROUTES.test(s.labels.route ?? '')) continue;
      if (s.name === `${HISTOGRAM}_count`) {
        requests += s.value;
        if ((s.labels.status_code ?? '').startsWith('5')) errors += s.value;
      } else {
        const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
      }
    } else if (s.name === FORWARDED && !EXCLUDED_ROUTES.test(s.labels.route ?? '')) {
      const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + (s.labels.time === 'own' ? s.value : -s.value));
    } else if (s.name === 'tachyon_orders_total' && (s.labels.outcome === 'accepted' || s.labels.outcome === 'rejected')) {
      orders += s.value;
    } else if (s.name === 'tachyon_order_rejections_total') {
      rejections += s.value;
    } else if (s.name === 'nodejs_eventloop_lag_p99_seconds') {
      loopP99 = s.value;
    }
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { at, bounds, cumulative: bounds.map((b) => byBound.get(b)!), requests, errors, orders, rejections, loopP99 };
}

export async function scrapeInstance(url: string, token: string, timeoutMs = 2_000): Promise<InstanceSnapshot> {
  const at = Date.now();
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  return snapshotOf(parsePrometheusText(await response.text()), at);
}

/** One instance's or one group's traffic over a window. */
export interface WindowStats {
  bounds: number[];
  /** Requests per bucket (not cumulative): bucket k holds latencies in (bounds[k-1], bounds[k]]. */
  counts: number[];
  requests: number;
  errors: number;
  orders: number;
  rejections: number;
  loopP99: number[];
}

export function emptyWindow(bounds: number[] = []): WindowStats {
  return { bounds, counts: bounds.map(() => 0), requests: 0, errors: 0, orders: 0, rejections: 0, loopP99: [] };
}

/**
 * The window between two scrapes of one instance, with the loop samples taken in between. A counter
 * that went down means the process restarted: the window then counts from zero.
 */
export function windowBetween(start: InstanceSnapshot, end: InstanceSnapshot, loopSamples: readonly number[]): WindowStats {
  const restarted = end.requests < start.requests || end.orders < start.orders;
  const base = restarted || start.bounds.join() !== end.bounds.join() ? { ...start, cumulative: end.bounds.map(() => 0), requests: 0, errors: 0, orders: 0, rejections: 0 } : start;
  const cumulative = end.cumulative.map((c, i) => c - base.cumulative[i]!);
  return {
    bounds: end.bounds,
    counts: cumulative.map((c, i) => c - (i === 0 ? 0 : cumulative[i - 1]!)),
    requests: end.requests - base.requests,
    errors: end.errors - base.errors,
    orders: end.orders - base.orders,
    rejections: end.rejections - base.rejections,
    loopP99: [...loopSamples],
  };
}

/** Several instances' windows as one group (the stable set, or the canary set). */
export function mergeWindows(windows: readonly WindowStats[]): WindowStats {
  const withBounds = windows.find((w) => w.bounds.length > 0);
  const out = emptyWindow(withBounds ? [...withBounds.bounds] : []);
  for (const w of windows) {
    if (w.bounds.length > 0 && w.bounds.join() !== out.bounds.join()) throw new Error(`latency buckets differ between instances (${w.bounds.join()} vs ${out.bounds.join()}): the versions cannot be compared`);
    w.counts.forEach((c, i) => (out.counts[i]! += c));
    out.requests += w.requests;
    out.errors += w.errors;
    out.orders += w.orders;
    out.rejections += w.rejections;
    out.loopP99.push(...w.loopP99);
  }
  return out;
}

/** A quantile from bucket counts, interpolated linearly inside its bucket (as PromQL's histogram_quantile). */
export function quantileOf(w: Pick<WindowStats, 'bounds' | 'counts'>, q: number): number | null {
  const total = w.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let k = 0; k < w.counts.length; k++) {
    const c = w.counts[k]!;
    if (below + c >= rank && c > 0) {
      const upper = w.bounds[k]!;
      const lower = k === 0 ? 0 : w.bounds[k - 1]!;
      // The +Inf bucket has no width: answer its lower bound, as Prometheus does.
      if (!Number.isFinite(upper)) return lower;
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return w.bounds.at(-2) ?? null;
}
