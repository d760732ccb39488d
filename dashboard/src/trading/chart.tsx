/** Candlesticks (lightweight-charts, loaded with this view only) from the bars API; the forming bar follows the live quotes. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CandlestickData, IChartApi, ISeriesApi, UTCTimestamp } from 'lightweight-charts';
import { api, ApiError } from '../api.ts';

const INTERVALS = ['1m', '5m', '15m', '1h', '1d'] as const;
const INTERVAL_S: Record<(typeof INTERVALS)[number], number> = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86_400 };

interface Bar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export function PriceChart({ symbol, last }: { symbol: string; last: number | undefined }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{ chart: IChartApi; series: ISeriesApi<'Candlestick'> } | undefined>(undefined);
  const forming = useRef<CandlestickData<UTCTimestamp> | undefined>(undefined);
  const [interval, setInterval] = useState<(typeof INTERVALS)[number]>('1m');
  const [error, setError] = useState<string>();

  useEffect(() => {
    let disposed = false;
    void import('lightweight-charts').then(({ createChart, CandlestickSeries }) => {
      if (disposed || !box.current) return;
      const c = createChart(box.current, { autoSize: true, layout: { background: { color: 'transparent' }, textColor: '#8a96a3' }, grid: { vertLines: { color: '#2a3440' }, horzLines: { color: '#2a3440' } }, timeScale: { timeVisible: true } });
      chart.current = { chart: c, series: c.addSeries(CandlestickSeries, { upColor: '#26a69a', downColor: '#ef5350', borderVisible: false, wickUpColor: '#26a69a', wickDownColor: '#ef5350' }) };
    });
    return () => {
      disposed = true;
      chart.current?.chart.remove();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    let current = true;
    setError(undefined);
    const load = async () => {
      const { bars } = await api<{ bars: Bar[] }>(`/api/market-data/bars/${encodeURIComponent(symbol)}?interval=${interval}&limit=300`);
      // The chart module may still be loading: wait for it (a few frames at most).
      while (current && !chart.current) await new Promise((r) => setTimeout(r, 50));
      if (!current || !chart.current) return;
      const data = bars.map((b) => ({ time: (b.ts / 1000) as UTCTimestamp, open: b.open, high: b.high, low: b.low, close: b.close }));
      chart.current.series.setData(data);
      forming.current = data.at(-1);
      chart.current.chart.timeScale().fitContent();
    };
    let retry: ReturnType<typeof setTimeout> | undefined;
    const attempt = () =>
      load().then(
        () => current && setError(undefined),
        (e: Error) => {
          if (!current) return;
          setError(e.message);
          // A first start still loading history says how far it is and when to ask again.
          const problem = e instanceof ApiError ? e.problem : undefined;
          if (problem?.code === 'history_loading') retry = setTimeout(attempt, Math.max(1, problem.retryAfterSeconds ?? 5) * 1000);
        },
      );
    void attempt();
    return () => {
      current = false;
      clearTimeout(retry);
    };
  }, [symbol, interval]);

  useEffect(() => {
    const target = chart.current;
    if (!target || last === undefined) return;
    const step = INTERVAL_S[interval];
    const start = (Math.floor(Date.now() / 1000 / step) * step) as UTCTimestamp;
    const bar = forming.current;
    const next = bar && bar.time === start ? { ...bar, high: Math.max(bar.high, last), low: Math.min(bar.low, last), close: last } : { time: start, open: last, high: last, low: last, close: last };
    if (bar && bar.time > start) return;
    forming.current = next;
    target.series.update(next);
    // The canvas cannot be read back: the forming bar's close is shown to tests on the element.
    box.current!.dataset.formingClose = next.close.toFixed(2);
  }, [last, interval]);

  return (
    <section class="wide">
      <div class="row">
        <h2>{symbol}</h2>
        {INTERVALS.map((i) => (
          <button key={i} aria-current={i === interval ? 'page' : undefined} onClick={() => setInterval(i)}>
            {i}
          </button>
        ))}
        {error && <span class="error">{error}</span>}
      </div>
      <div class="chart" ref={box} data-testid="chart" />
    </section>
  );
}
