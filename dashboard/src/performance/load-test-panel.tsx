/**
 * The load-test launcher (/api/performance/tests): start a built-in scenario against this instance,
 * watch its progress from the metrics stream, and open the HTML report when it is done. The report
 * needs the token, which never goes in a URL: it is fetched and opened as a blob.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { storedToken } from '../session.ts';
import { ms, pct, type LiveSnapshot } from './snapshot.ts';

const SCENARIOS = ['smoke', 'baseline', 'load', 'stress', 'spike', 'endurance', 'volume', 'websocket'];
/** While a run's end is awaited (its progress left the stream), how often its record is read. */
const ENDED_POLL_MS = 1_000;

interface Run {
  id: number;
  scenario: string;
  status: 'running' | 'passed' | 'failed' | 'cancelled' | 'error';
  startedAt: string;
  summary: { requests: number; rps: number; p95: number; p99: number; errorRate: number } | null;
  error: string | null;
}

export function LoadTestPanel({ live }: { live: LiveSnapshot['loadTest'] | undefined }) {
  const [scenario, setScenario] = useState('smoke');
  const [duration, setDuration] = useState('10s');
  const [rate, setRate] = useState(5);
  const [run, setRun] = useState<Run>();
  const [report, setReport] = useState<string>();
  const [error, setError] = useState<string>();

  // The latest run, so a run started elsewhere (or before a reload) is shown too.
  useEffect(() => {
    void api<{ items: Run[] }>('/api/performance/tests/history?limit=1').then((h) => h.items[0] && setRun(h.items[0]), () => undefined);
  }, []);

  const streaming = live && run && live.id === run.id;
  // Once the stream stops carrying a running run, read its record until it has an outcome.
  useEffect(() => {
    if (!run || run.status !== 'running' || streaming) return;
    const timer = setTimeout(() => void api<Run>(`/api/performance/tests/${run.id}`).then(setRun, (e: Error) => setError(e.message)), ENDED_POLL_MS);
    return () => clearTimeout(timer);
  }, [run, streaming]);

  useEffect(() => {
    if (!run || run.status === 'running' || run.status === 'error') return;
    let url: string | undefined;
    void fetch(`/api/performance/tests/${run.id}/results?format=html`, { headers: { authorization: `Bearer ${storedToken() ?? ''}` } })
      .then((r) => (r.ok ? r.blob() : undefined))
      .then((blob) => blob && setReport((url = URL.createObjectURL(blob))));
    return () => {
      if (url) URL.revokeObjectURL(url);
      setReport(undefined);
    };
  }, [run?.id, run?.status]);

  const start = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      setRun(await api<Run>('/api/performance/tests', { method: 'POST', body: { scenario, duration, rate } }));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const progress = streaming ? live.progress : null;
  const done = progress && progress.durationMs > 0 ? Math.min(100, (100 * progress.elapsedMs) / progress.durationMs) : 0;
  return (
    <section data-testid="loadtest-panel">
      <h2>Load test</h2>
      <form class="row" aria-label="load test" onSubmit={start}>
        <select name="scenario" value={scenario} onChange={(e) => setScenario(e.currentTarget.value)}>
          {SCENARIOS.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <input name="duration" aria-label="duration" value={duration} onInput={(e) => setDuration(e.currentTarget.value)} style={{ width: '5rem' }} />
        <label>
          iterations/s <input name="rate" type="number" min={1} value={rate} onInput={(e) => setRate(Number(e.currentTarget.value))} style={{ width: '4rem' }} />
        </label>
        <button type="submit" disabled={run?.status === 'running'}>Start</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {run && (
        <p data-testid="loadtest-status">
          Run {run.id} ({run.scenario}): <b>{run.status}</b>
          {run.error && <span class="error"> {run.error}</span>}
        </p>
      )}
      {run?.status === 'running' && (
        <div data-testid="loadtest-progress">
          <progress max={100} value={done} /> {done.toFixed(0)}%
          {progress && <p class="muted">{progress.rps.toFixed(0)} req/s, p95 {ms(progress.p95)}, errors {pct(progress.errorRate)}, {progress.requests} requests{progress.thresholdsFailing > 0 && `, ${progress.thresholdsFailing} threshold(s) failing`}</p>}
        </div>
      )}
      {run?.summary && (
        <p class="muted">
          {run.summary.requests} requests, {run.summary.rps.toFixed(0)} req/s, p95 {ms(run.summary.p95)}, p99 {ms(run.summary.p99)}, errors {pct(run.summary.errorRate)}
        </p>
      )}
      {report && (
        <a href={report} target="_blank" data-testid="report-link">Open the HTML report</a>
      )}
    </section>
  );
}
