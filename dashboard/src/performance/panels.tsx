/** The performance view's live panels, each drawn from the latest metrics snapshot. */
import { mb, ms, pct, type LiveSnapshot } from './snapshot.ts';

const count = (n: number) => n.toLocaleString('en-US');

export function Gauge({ label, ratio }: { label: string; ratio: number }) {
  return (
    <div>
      <span>{label}</span>
      <div class="bar"><div class={ratio > 0.85 ? 'over' : ''} style={{ width: `${Math.min(100, ratio * 100).toFixed(1)}%` }} /></div>
    </div>
  );
}

export function RoutesPanel({ routes }: { routes: LiveSnapshot['routes'] }) {
  return (
    <section>
      <h2>Routes (1 min, slowest p95)</h2>
      <table>
        <thead><tr><th>Route</th><th>req/s</th><th>p50</th><th>p99</th><th>errors</th></tr></thead>
        <tbody>
          {routes.map((r) => (
            <tr key={r.route}><td>{r.route}</td><td>{r.ratePerSecond.toFixed(2)}</td><td>{ms(r.p50)}</td><td>{ms(r.p99)}</td><td>{pct(r.errorRatio)}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function ResourcesPanel({ s }: { s: LiveSnapshot }) {
  return (
    <section>
      <h2>Memory and CPU against budget</h2>
      <Gauge label={`RSS ${mb(s.memory.rssBytes)} of ${mb(s.memory.limitBytes)}`} ratio={s.memory.rssBytes / s.memory.limitBytes} />
      {s.cpu && <Gauge label={`CPU ${pct(s.cpu.cpu)} of ${s.cpu.cores} cores`} ratio={s.cpu.cpu} />}
      {s.cpu && <Gauge label={`Event loop busy ${pct(s.cpu.eventLoop)}`} ratio={s.cpu.eventLoop} />}
      <p class="muted">Heap {mb(s.memory.heapUsedBytes)}; event-loop delay p50 {ms(s.eventLoopDelayMs.p50)}, p99 {ms(s.eventLoopDelayMs.p99)}</p>
    </section>
  );
}

export function ConnectionsPanel({ c }: { c: LiveSnapshot['connections'] }) {
  return (
    <section data-testid="connections-panel">
      <h2>Connections</h2>
      <div class="tiles">
        <div class="tile">HTTP open<b data-testid="http-connections">{count(c.http)}</b></div>
        <div class="tile">WebSocket<b data-testid="ws-connections">{count(c.websocket)}</b></div>
        <div class="tile">subscriptions<b>{count(c.subscriptions)}</b></div>
        <div class="tile">WS msgs/s<b>{count(Math.round(c.messagesOutPerSec))}</b></div>
      </div>
    </section>
  );
}

export function CachePanel({ cache }: { cache: LiveSnapshot['cache'] }) {
  const tiers = [...new Set(Object.values(cache).flatMap((t) => Object.keys(t)))];
  return (
    <section data-testid="cache-panel">
      <h2>Cache hit rate by class and tier (since start)</h2>
      <table>
        <thead><tr><th>Class</th>{tiers.map((t) => <th key={t}>{t.toUpperCase()}</th>)}</tr></thead>
        <tbody>
          {Object.entries(cache).map(([cls, byTier]) => (
            <tr key={cls}><td>{cls}</td>{tiers.map((t) => <td key={t}>{pct(byTier[t])}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function DatabasePanel({ db }: { db: LiveSnapshot['database'] }) {
  const q = db.queries;
  return (
    <section data-testid="database-panel">
      <h2>Database</h2>
      <p class="muted">
        1 min: {q.ratePerSecond.toFixed(1)} queries/s, p50 {ms(q.p50)}, p95 {ms(q.p95)}, p99 {ms(q.p99)}; pool {db.pool.inUse}/{db.pool.max} in use, {db.pool.waiting} waiting
      </p>
      <table>
        <thead><tr><th>Statement (slowest p95 since start)</th><th>calls</th><th>p50</th><th>p95</th><th>p99</th></tr></thead>
        <tbody>
          {db.statements.map((s) => (
            <tr key={s.statement}><td title={s.statement} class="statement">{s.statement}</td><td>{count(s.count)}</td><td>{ms(s.med)}</td><td>{ms(s.p95)}</td><td>{ms(s.p99)}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function TaskQueuePanel({ queue }: { queue: LiveSnapshot['taskQueue'] }) {
  if (!queue) return <section><h2>Task queue</h2><p class="muted">No task queue on this instance.</p></section>;
  return (
    <section data-testid="queue-panel">
      <h2>Task queue</h2>
      <p>
        depth <b data-testid="queue-depth">{queue.depth}</b>, running <b>{queue.running}</b>, completed {pct(queue.completionRate)}
      </p>
      <table>
        <thead><tr><th>Type</th><th>queued</th><th>running</th><th>done</th><th>failed</th><th>wait p95</th><th>run p50</th><th>run p95</th></tr></thead>
        <tbody>
          {Object.entries(queue.byType).map(([type, t]) => (
            <tr key={type}>
              <td>{type}</td><td>{t.queued}</td><td>{t.running}</td><td>{count(t.completed)}</td><td>{t.failed}</td><td>{ms(t.waitMs.p95)}</td><td>{ms(t.executionMs.p50)}</td><td>{ms(t.executionMs.p95)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function AlertsPanel({ active, history }: { active: LiveSnapshot['alerts']; history: Array<{ rule: string; state: string; at: number }> }) {
  return (
    <section>
      <h2>Alerts</h2>
      {active.length === 0 && <p class="ok">No active alert.</p>}
      <ul>
        {active.map((a) => <li key={a.rule} class="error">{a.severity} {a.rule}: {a.state} {a.summary}</li>)}
        {history.slice(0, 10).map((e) => <li key={`${e.rule}${e.at}`} class="muted">{new Date(e.at).toLocaleTimeString()} {e.rule} {e.state}</li>)}
      </ul>
    </section>
  );
}
