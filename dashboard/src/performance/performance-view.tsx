/**
 * The performance view (admin). Live panels follow the admin `metrics` WebSocket channel (one
 * snapshot a second, pushed); what changes slowly or on demand (dependency health, alert history,
 * field measurements, flags) is read every 15 s; the scaling and load-test panels load on demand.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Lazy } from '../lazy.tsx';
import { Heatmap } from './heatmap.tsx';
import { HistoryProgress, type HistoryStatus } from './history-progress.tsx';
import { AlertsPanel, CachePanel, ConnectionsPanel, DatabasePanel, ResourcesPanel, RoutesPanel, TaskQueuePanel } from './panels.tsx';
import { ms, pct, useLiveMetrics } from './snapshot.ts';
import { TimeSeries } from './time-series.tsx';

const SLOW_MS = 15_000;

interface Slow {
  health?: { status: string; dependencies: Array<{ name: string; ok: boolean; latencyMs: number; error?: string }>; history?: HistoryStatus };
  alerts?: { history: Array<{ rule: string; state: string; at: number }> };
  flags?: { flags: Array<{ name: string; enabled: boolean; source: string; description: string }> };
  rum?: { byPage: Record<string, Record<string, { count: number; p75: number }>> };
}

const loadScaling = () => import('./scaling-panel.tsx').then((m) => m.ScalingPanel);
const loadLoadTest = () => import('./load-test-panel.tsx').then((m) => m.LoadTestPanel);

export function PerformanceView() {
  const live = useLiveMetrics();
  const [slow, setSlow] = useState<Slow>({});

  useEffect(() => {
    const poll = async () => {
      const get = <T,>(path: string) => api<T>(path).catch(() => undefined);
      // /api/health/detailed answers 503 with its body when a dependency is down: still worth showing.
      const health = api<Slow['health']>('/api/health/detailed').catch((e: { problem?: unknown }) => e.problem as Slow['health']);
      const [healthy, alerts, flags, rum] = await Promise.all([health, get<Slow['alerts']>('/api/performance/alerts'), get<Slow['flags']>('/api/admin/flags'), get<Slow['rum']>('/api/rum')]);
      setSlow({ health: healthy, alerts, flags, rum });
    };
    void poll();
    const timer = setInterval(poll, SLOW_MS);
    return () => clearInterval(timer);
  }, []);

  const s = live.snapshot;
  const w = s?.http;
  return (
    <main>
      <section class="wide" data-testid="latency-panel" data-updates={live.updates}>
        <h2>
          HTTP, last minute <span class={live.connection === 'open' ? 'ok status' : 'error status'} data-testid="stream">{live.connection === 'open' ? 'live' : live.connection}</span>
        </h2>
        <div class="tiles">
          <div class="tile">p50<b data-testid="p50">{ms(w?.p50)}</b></div>
          <div class="tile">p95<b>{ms(w?.p95)}</b></div>
          <div class="tile">p99<b>{ms(w?.p99)}</b></div>
          <div class="tile">requests/s<b data-testid="rate">{w ? w.ratePerSecond.toFixed(1) : '–'}</b></div>
          <div class="tile">errors<b>{pct(w?.errorRatio)}</b></div>
          <div class="tile">queue depth<b>{s?.taskQueue?.depth ?? '–'}</b></div>
        </div>
      </section>
      <TimeSeries title="Latency (1 min window)" unit=" ms" data={live.points.slice(0, 4)} series={[{ label: 'p50', color: '#26a69a' }, { label: 'p95', color: '#f0b429' }, { label: 'p99', color: '#ef5350' }]} />
      <TimeSeries title="Request rate" unit="/s" data={[live.points[0]!, live.points[4]!]} series={[{ label: 'req/s', color: '#4f9cf9' }]} />
      {s && (
        <>
          <Heatmap columns={live.columns} boundsMs={s.heatmap.boundsMs} slotMs={s.heatmap.slotMs} />
          <RoutesPanel routes={s.routes} />
          <ResourcesPanel s={s} />
          <ConnectionsPanel c={s.connections} />
          <CachePanel cache={s.cache} />
          <DatabasePanel db={s.database} />
          <TaskQueuePanel queue={s.taskQueue} />
          <AlertsPanel active={s.alerts} history={slow.alerts?.history ?? []} />
        </>
      )}
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
      <Lazy load={loadLoadTest} props={{ live: s?.loadTest }} />
      <Lazy load={loadScaling} />
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
      <section data-testid="flags-panel">
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
