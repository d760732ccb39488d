/**
 * The performance view (admin). Live by polling: HTTP metrics every 2 s (the time series), the
 * slower-moving rest every 10 s. A metrics stream over the WebSocket would replace both.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { HistoryProgress, type HistoryStatus } from './history-progress.tsx';
import { TimeSeries } from './time-series.tsx';

const FAST_MS = 2_000;
const SLOW_MS = 10_000;
/** Ten minutes of points at the fast interval. */
const KEEP_POINTS = 300;

interface WindowStats {
  count: number;
  ratePerSecond: number;
  errorRatio: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
interface Metrics {
  instance: unknown;
  http: Record<'1m' | '5m' | '15m', WindowStats>;
  routes: Array<{ route: string } & WindowStats>;
  taskQueue: { depth?: number } | null;
}
interface Slow {
  memory?: { rssBytes: number; heapUsedBytes: number; limitBytes: number; utilization: number };
  cpu?: { cores: number; utilization: Record<string, { cpu: number; eventLoop: number } | null> };
  health?: { status: string; dependencies: Array<{ name: string; ok: boolean; latencyMs: number; error?: string }>; eventLoopDelayMs: { p50: number; p99: number; max: number }; history?: HistoryStatus };
  cache?: { hitRate: number; classes: Record<string, { hitRate: number }> };
  alerts?: { active: Array<{ rule: string; severity: string; state: string; summary?: string }>; history: Array<{ rule: string; state: string; at: number }> };
  flags?: { flags: Array<{ name: string; enabled: boolean; source: string; description: string }> };
  rum?: { byPage: Record<string, Record<string, { count: number; p75: number }>> };
}

const pct = (ratio: number | undefined) => (ratio === undefined ? '–' : `${(ratio * 100).toFixed(1)}%`);
const ms = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(value < 10 ? 2 : 0)} ms`);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

export function PerformanceView() {
  const [metrics, setMetrics] = useState<Metrics>();
  const [points, setPoints] = useState<number[][]>([[], [], [], [], []]);
  const [slow, setSlow] = useState<Slow>({});
  const [error, setError] = useState<string>();

  useEffect(() => {
    const fast = async () => {
      try {
        const m = await api<Metrics>('/api/performance/metrics');
        setMetrics(m);
        setError(undefined);
        const w = m.http['1m'];
        setPoints((p) => [Date.now() / 1000, w.p50, w.p95, w.p99, w.ratePerSecond].map((v, i) => [...p[i]!, v].slice(-KEEP_POINTS)));
      } catch (e) {
        setError((e as Error).message);
      }
    };
    const slowPoll = async () => {
      const get = <T,>(path: string) => api<T>(path).catch(() => undefined);
      // /api/health/detailed answers 503 with its body when a dependency is down: still worth showing.
      const health = api<Slow['health']>('/api/health/detailed').catch((e: { problem?: unknown }) => e.problem as Slow['health']);
      const [memory, cpu, healthy, cache, alerts, flags, rum] = await Promise.all([
        get<Slow['memory']>('/api/performance/metrics/memory'),
        get<Slow['cpu']>('/api/performance/metrics/cpu'),
        health,
        get<Slow['cache']>('/api/admin/cache/stats'),
        get<Slow['alerts']>('/api/performance/alerts'),
        get<Slow['flags']>('/api/admin/flags'),
        get<Slow['rum']>('/api/rum'),
      ]);
      setSlow({ memory, cpu, health: healthy, cache, alerts, flags, rum });
    };
    void fast();
    void slowPoll();
    const timers = [setInterval(fast, FAST_MS), setInterval(slowPoll, SLOW_MS)];
    return () => timers.forEach(clearInterval);
  }, []);

  const w = metrics?.http['1m'];
  const cpu = slow.cpu?.utilization['1m'];
  return (
    <main>
      <section class="wide" data-testid="latency-panel">
        <h2>HTTP, last minute {error && <span class="error">{error}</span>}</h2>
        <div class="tiles">
          <div class="tile">p50<b data-testid="p50">{ms(w?.p50)}</b></div>
          <div class="tile">p95<b>{ms(w?.p95)}</b></div>
          <div class="tile">p99<b>{ms(w?.p99)}</b></div>
          <div class="tile">requests/s<b data-testid="rate">{w ? w.ratePerSecond.toFixed(1) : '–'}</b></div>
          <div class="tile">errors<b>{pct(w?.errorRatio)}</b></div>
          <div class="tile">queue depth<b>{metrics?.taskQueue?.depth ?? '–'}</b></div>
        </div>
      </section>
      <TimeSeries title="Latency (1 min window)" unit=" ms" data={points.slice(0, 4)} series={[{ label: 'p50', color: '#26a69a' }, { label: 'p95', color: '#f0b429' }, { label: 'p99', color: '#ef5350' }]} />
      <TimeSeries title="Request rate" unit="/s" data={[points[0]!, points[4]!]} series={[{ label: 'req/s', color: '#4f9cf9' }]} />
      <section>
        <h2>Routes (5 min)</h2>
        <table>
          <thead><tr><th>Route</th><th>req/s</th><th>p50</th><th>p99</th><th>errors</th></tr></thead>
          <tbody>
            {(metrics?.routes ?? []).slice(0, 12).map((r) => (
              <tr key={r.route}><td>{r.route}</td><td>{r.ratePerSecond.toFixed(2)}</td><td>{ms(r.p50)}</td><td>{ms(r.p99)}</td><td>{pct(r.errorRatio)}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Memory and CPU against budget</h2>
        {slow.memory && <Gauge label={`RSS ${mb(slow.memory.rssBytes)} of ${mb(slow.memory.limitBytes)}`} ratio={slow.memory.utilization} />}
        {cpu && <Gauge label={`CPU ${pct(cpu.cpu)} of ${slow.cpu?.cores} cores`} ratio={cpu.cpu} />}
        {cpu && <Gauge label={`Event loop busy ${pct(cpu.eventLoop)}`} ratio={cpu.eventLoop} />}
        {slow.health && <p class="muted">Event-loop delay p50 {ms(slow.health.eventLoopDelayMs.p50)}, p99 {ms(slow.health.eventLoopDelayMs.p99)}</p>}
      </section>
      <section>
        <h2>Cache hit rate</h2>
        {slow.cache && (
          <table>
            <tbody>
              <tr><td>all classes</td><td><b>{pct(slow.cache.hitRate)}</b></td></tr>
              {Object.entries(slow.cache.classes).map(([name, c]) => <tr key={name}><td>{name}</td><td>{pct(c.hitRate)}</td></tr>)}
            </tbody>
          </table>
        )}
      </section>
      <section data-testid="health-panel">
        <h2>Service health {slow.health && <span class={slow.health.status === 'ok' ? 'ok' : 'error'}>{slow.health.status}</span>}</h2>
        <HistoryProgress history={slow.health?.history} />
        <table>
          <tbody>
            {(slow.health?.dependencies ?? []).map((d) => (
              <tr key={d.name}><td>{d.name}</td><td class={d.ok ? 'ok' : 'error'}>{d.ok ? 'ok' : d.error ?? 'down'}</td><td>{ms(d.latencyMs)}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Alerts</h2>
        {slow.alerts && slow.alerts.active.length === 0 && <p class="ok">No active alert.</p>}
        <ul>
          {slow.alerts?.active.map((a) => <li key={a.rule} class="error">{a.severity} {a.rule}: {a.state} {a.summary}</li>)}
          {slow.alerts?.history.slice(0, 10).map((e) => <li key={`${e.rule}${e.at}`} class="muted">{new Date(e.at).toLocaleTimeString()} {e.rule} {e.state}</li>)}
        </ul>
      </section>
      <section>
        <h2>Real users (p75)</h2>
        <table>
          <thead><tr><th>Page</th><th>FCP</th><th>LCP</th><th>INP</th><th>CLS</th></tr></thead>
          <tbody>
            {Object.entries(slow.rum?.byPage ?? {}).map(([page, m]) => (
              <tr key={page}>
                <td>{page}</td>
                {(['FCP', 'LCP', 'INP'] as const).map((k) => <td key={k}>{m[k] ? ms(m[k].p75 * 1000) : '–'}</td>)}
                <td>{m.CLS ? m.CLS.p75.toFixed(3) : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Feature flags</h2>
        <table>
          <tbody>
            {(slow.flags?.flags ?? []).map((f) => (
              <tr key={f.name} title={f.description}><td>{f.name}</td><td class={f.enabled ? 'ok' : 'muted'}>{f.enabled ? 'on' : 'off'}</td><td class="muted">{f.source}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}

function Gauge({ label, ratio }: { label: string; ratio: number }) {
  return (
    <div>
      <span>{label}</span>
      <div class="bar"><div class={ratio > 0.85 ? 'over' : ''} style={{ width: `${Math.min(100, ratio * 100).toFixed(1)}%` }} /></div>
    </div>
  );
}
