/**
 * The latency heat map: one column per 10 s slot of the last 15 minutes, one row per latency bucket,
 * darker where more requests fell. Drawn on a canvas (a few hundred cells; no chart library needed).
 */
import { useEffect, useRef } from 'preact/hooks';
import type { HeatmapColumn } from './snapshot.ts';

const HEIGHT = 180;
const AXIS = 56;

const label = (boundMs: number) => (boundMs >= 1000 ? `${boundMs / 1000} s` : `${boundMs} ms`);

export function Heatmap({ columns, boundsMs, slotMs }: { columns: HeatmapColumn[]; boundsMs: number[]; slotMs: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const total = columns.reduce((n, c) => n + c.counts.reduce((a, b) => a + b, 0), 0);

  useEffect(() => {
    const element = canvas.current;
    const ctx = element?.getContext('2d');
    if (!element || !ctx) return;
    const width = (element.width = element.clientWidth || 400);
    element.height = HEIGHT;
    ctx.clearRect(0, 0, width, HEIGHT);
    const rows = boundsMs.length + 1;
    const rowHeight = (HEIGHT - 16) / rows;
    const slots = Math.round((15 * 60_000) / slotMs);
    const cellWidth = (width - AXIS) / slots;
    const last = columns.at(-1)?.start ?? 0;
    // Log scale: a few slow requests stay visible beside thousands of fast ones.
    const max = Math.log1p(Math.max(1, ...columns.flatMap((c) => c.counts)));
    for (const column of columns) {
      const x = AXIS + (slots - 1 - (last - column.start) / slotMs) * cellWidth;
      column.counts.forEach((count, row) => {
        if (count === 0) return;
        ctx.fillStyle = `rgba(240, 180, 41, ${(0.15 + (0.85 * Math.log1p(count)) / max).toFixed(3)})`;
        ctx.fillRect(x, HEIGHT - 16 - (row + 1) * rowHeight, Math.max(1, cellWidth - 1), rowHeight - 1);
      });
    }
    ctx.fillStyle = '#8a96a3';
    ctx.font = '11px system-ui, sans-serif';
    boundsMs.forEach((bound, row) => {
      if (row % 2 === 0) ctx.fillText(`≤ ${label(bound)}`, 0, HEIGHT - 16 - row * rowHeight - rowHeight / 3);
    });
    ctx.fillText('−15 min', AXIS, HEIGHT - 2);
    ctx.fillText('now', width - 24, HEIGHT - 2);
  }, [columns, boundsMs, slotMs]);

  return (
    <section class="wide" data-testid="heatmap" data-requests={total}>
      <h2>Latency heat map (10 s slots, 15 min)</h2>
      <canvas ref={canvas} class="heatmap" aria-label={`latency heat map of ${total} requests`} />
    </section>
  );
}
