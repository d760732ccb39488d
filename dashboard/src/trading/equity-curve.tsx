/** The account's equity curve: the platform's periodic snapshots, then the live equity as its last point. */
import { useEffect, useRef } from 'preact/hooks';
import type { IChartApi, ISeriesApi, UTCTimestamp } from 'lightweight-charts';
import { api } from '../api.ts';

export function EquityCurve({ equity }: { equity: number | undefined }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{ chart: IChartApi; series: ISeriesApi<'Area'>; lastTime: number } | undefined>(undefined);

  useEffect(() => {
    let disposed = false;
    void Promise.all([import('lightweight-charts'), api<{ points: Array<{ ts: number; equity: number }> }>('/api/portfolio/history?limit=1000')]).then(
      ([{ createChart, AreaSeries }, { points }]) => {
        if (disposed || !box.current) return;
        const c = createChart(box.current, { autoSize: true, layout: { background: { color: 'transparent' }, textColor: '#8a96a3' }, grid: { vertLines: { visible: false }, horzLines: { color: '#2a3440' } }, timeScale: { timeVisible: true } });
        const series = c.addSeries(AreaSeries, { lineColor: '#4f9cf9', topColor: 'rgba(79,156,249,.3)', bottomColor: 'rgba(79,156,249,0)', lineWidth: 2 });
        // One point per second at most: the chart needs strictly increasing times.
        const bySecond = new Map(points.map((p) => [Math.floor(p.ts / 1000), p.equity]));
        const data = [...bySecond].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time: time as UTCTimestamp, value }));
        series.setData(data);
        c.timeScale().fitContent();
        chart.current = { chart: c, series, lastTime: data.at(-1)?.time ?? 0 };
      },
      () => {},
    );
    return () => {
      disposed = true;
      chart.current?.chart.remove();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    const target = chart.current;
    if (!target || equity === undefined) return;
    const time = Math.max(target.lastTime, Math.floor(Date.now() / 1000));
    target.series.update({ time: time as UTCTimestamp, value: equity });
    target.lastTime = time;
  }, [equity]);

  return (
    <section>
      <h2>Equity</h2>
      <div class="equity" ref={box} data-testid="equity-curve" />
    </section>
  );
}
