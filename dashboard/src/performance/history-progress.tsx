/** The background history load of a first start (from /api/health/detailed): a progress bar while it runs. */

export interface HistoryStatus {
  state: 'idle' | 'loading' | 'loaded' | 'failed' | 'stopped';
  days: number;
  totalRows: number;
  loadedRows: number;
  percent: number;
  error?: string;
}

const count = (n: number) => n.toLocaleString('en-US');

export function HistoryProgress({ history }: { history: HistoryStatus | undefined }) {
  if (!history || history.state === 'idle') return null;
  const { state, percent, loadedRows, totalRows, days } = history;
  return (
    <p data-testid="history-progress" class={state === 'failed' ? 'error' : 'muted'}>
      {state === 'loading' && (
        <>
          History loading: <b>{percent}%</b> ({count(loadedRows)} of {count(totalRows)} 1-minute bars, {days} days){' '}
          <progress max={100} value={percent} />
        </>
      )}
      {state === 'loaded' && <>History loaded: {count(totalRows)} 1-minute bars ({days} days).</>}
      {state === 'failed' && <>History loading failed at {percent}%: {history.error ?? 'see the server log'}.</>}
      {state === 'stopped' && <>History loading stopped at {percent}% (the server stopped); `npm run tachyon -- seed` loads it again.</>}
    </p>
  );
}
