/**
 * Scaling status, history and the manual control (/api/performance/scaling). A single instance has
 * no autoscaler: the API says so (`mode: 'single-instance'`) and the panel shows its words.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';

interface Status {
  mode: 'single-instance' | 'cluster';
  message?: string;
  current?: number;
  desired?: number;
  reason?: string;
  instances?: Array<{ name: string; state: string; shardsHeld: number | null; feedLeader: boolean | null }>;
  config: { minInstances: number; maxInstances: number };
}
interface History {
  events: Array<{ id: number; at: string; from: number; to: number; trigger: string; reason: string; durationMs: number }>;
}

export function ScalingPanel() {
  const [status, setStatus] = useState<Status>();
  const [history, setHistory] = useState<History['events']>([]);
  const [count, setCount] = useState(2);
  const [reason, setReason] = useState('');
  const [answer, setAnswer] = useState<string>();

  const refresh = useCallback(async () => {
    const [s, h] = await Promise.all([api<Status>('/api/performance/scaling/status'), api<History>('/api/performance/scaling/history?limit=10')]);
    setStatus(s);
    setHistory(h.events);
  }, []);
  useEffect(() => {
    void refresh().catch((e: Error) => setAnswer(e.message));
  }, [refresh]);

  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const result = await api<{ message?: string; count?: number; limitedBy?: string }>('/api/performance/scaling/manual', { method: 'POST', body: { count, reason } });
      setAnswer(result.message ?? `Scaling to ${result.count}`);
      await refresh();
    } catch (e) {
      setAnswer(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <section data-testid="scaling-panel">
      <h2>Scaling</h2>
      {status?.mode === 'single-instance' && <p class="muted" data-testid="scaling-mode">{status.message}</p>}
      {status?.mode === 'cluster' && (
        <>
          <p data-testid="scaling-mode">
            {status.current} instance(s), desired {status.desired}: {status.reason}
          </p>
          <table>
            <tbody>
              {(status.instances ?? []).map((i) => (
                <tr key={i.name}><td>{i.name}</td><td>{i.state}</td><td>{i.shardsHeld ?? '–'} shards</td><td>{i.feedLeader ? 'feed leader' : ''}</td></tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {status && <p class="muted">Between {status.config.minInstances} and {status.config.maxInstances} instances.</p>}
      <form class="row" aria-label="manual scaling" onSubmit={submit}>
        <input name="count" type="number" min={1} required value={count} onInput={(e) => setCount(Number(e.currentTarget.value))} style={{ width: '5rem' }} />
        <input name="reason" required placeholder="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <button type="submit">Scale</button>
      </form>
      {answer && <p class="muted" data-testid="scaling-answer">{answer}</p>}
      <ul>
        {history.map((e) => (
          <li key={e.id} class="muted">{new Date(e.at).toLocaleString()} {e.from} → {e.to} ({e.trigger}) {e.reason}</li>
        ))}
      </ul>
    </section>
  );
}
