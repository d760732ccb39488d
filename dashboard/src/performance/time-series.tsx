/** A uPlot line chart (uPlot loaded with the performance view only) over points from the metrics stream. */
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';

export interface Series {
  label: string;
  color: string;
}

/** `data[0]` is time in seconds, then one array per series. */
export function TimeSeries({ title, series, data, unit }: { title: string; series: Series[]; data: number[][]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  useEffect(() => {
    let disposed = false;
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([{ default: UPlot }]) => {
      if (disposed || !box.current) return;
      plot.current = new UPlot(
        {
          width: box.current.clientWidth || 400,
          height: 180,
          axes: [{ stroke: '#8a96a3' }, { stroke: '#8a96a3', size: 70, values: (_u, ticks) => ticks.map((t) => `${t}${unit}`) }],
          series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5 }))],
        },
        data as uPlot.AlignedData,
        box.current,
      );
    });
    return () => {
      disposed = true;
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <section>
      <h2>{title}</h2>
      <div class="series" ref={box} />
    </section>
  );
}
