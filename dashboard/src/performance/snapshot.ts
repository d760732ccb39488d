/**
 * The admin `metrics` WebSocket channel and what the view keeps of it: the latest snapshot, the heat
 * map merged slot by slot, and ten minutes of points for the time series. The snapshot's type is the
 * server's own schema (a type-only import: nothing of the server reaches the bundle).
 */
import { useEffect, useState } from 'preact/hooks';
import type { HeatmapColumn, LiveSnapshot } from '../../../src/observability/live-snapshot.ts';
import { LiveConnection, type ConnectionState } from '../live.ts';
import { storedToken } from '../session.ts';

export type { HeatmapColumn, LiveSnapshot };

export interface LiveMetrics {
  snapshot: LiveSnapshot | undefined;
  /** Heat-map slots, oldest first, merged from the full first snapshot and each update's last slots. */
  columns: HeatmapColumn[];
  /** [time s, p50, p95, p99, req/s] per snapshot (uPlot's aligned columns). */
  points: number[][];
  connection: ConnectionState;
  /** Snapshots received, for tests and the panel header. */
  updates: number;
}

/** Ten minutes at one snapshot a second. */
const KEEP_POINTS = 600;

export function mergeColumns(kept: HeatmapColumn[], update: HeatmapColumn[], keep: number): HeatmapColumn[] {
  const byStart = new Map(kept.map((c) => [c.start, c]));
  for (const column of update) byStart.set(column.start, column);
  return [...byStart.values()].sort((a, b) => a.start - b.start).slice(-keep);
}

/** Subscribes to the metrics channel for as long as the calling component lives. */
export function useLiveMetrics(): LiveMetrics {
  const [state, setState] = useState<LiveMetrics>({ snapshot: undefined, columns: [], points: [[], [], [], [], []], connection: 'connecting', updates: 0 });
  useEffect(() => {
    const live = new LiveConnection(storedToken() ?? '');
    const offState = live.onState((connection) => setState((s) => ({ ...s, connection })));
    const offMessage = live.onMessage((message) => {
      if (message.channel !== 'metrics') return;
      const snapshot = message.data as LiveSnapshot;
      const { heatmap, http, ts } = snapshot;
      const keep = Math.round((15 * 60_000) / heatmap.slotMs);
      setState((s) => ({
        ...s,
        snapshot,
        updates: s.updates + 1,
        // A snapshot (first or after a reconnect) holds the whole map: it replaces what was kept.
        columns: message.event === 'snapshot' ? heatmap.columns : mergeColumns(s.columns, heatmap.columns, keep),
        points: [ts / 1000, http.p50, http.p95, http.p99, http.ratePerSecond].map((v, i) => [...s.points[i]!, v].slice(-KEEP_POINTS)),
      }));
    });
    live.subscribe(['metrics']);
    return () => {
      offState();
      offMessage();
      live.close();
    };
  }, []);
  return state;
}

export const pct = (ratio: number | null | undefined) => (ratio == null ? '–' : `${(ratio * 100).toFixed(1)}%`);
export const ms = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(value < 10 ? 2 : 0)} ms`);
export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
