/**
 * The Grafana dashboard, generated like the alert rules so panel queries and metric names cannot
 * drift apart. One row per concern: HTTP (rate, errors, latency percentiles by route), SLO burn,
 * runtime (CPU, memory, event loop, GC), database, cache, task queue, WebSocket, trading.
 */
import { SLO } from './alerts/rules.ts';

interface Panel {
  title: string;
  unit: string;
  targets: Array<{ expr: string; legend: string }>;
}

const q = (expr: string, legend = '{{instance}}') => ({ expr, legend });
const quantile = (p: number, metric: string, by: string) => q(`histogram_quantile(${p}, sum by (${by}, le) (rate(${metric}_bucket[$__rate_interval])))`, `p${p * 100} {{${by}}}`);

const ROWS: Array<{ title: string; panels: Panel[] }> = [
  {
    title: 'HTTP',
    panels: [
      { title: 'Requests per second by route', unit: 'reqps', targets: [q('sum by (route) (rate(tachyon_http_request_duration_seconds_count[$__rate_interval]))', '{{route}}')] },
      { title: 'Error rate (5xx)', unit: 'percentunit', targets: [q('sum(rate(tachyon_http_request_duration_seconds_count{status_code=~"5.."}[$__rate_interval])) / sum(rate(tachyon_http_request_duration_seconds_count[$__rate_interval]))', 'errors')] },
      { title: 'Latency p50 / p95 / p99', unit: 's', targets: [0.5, 0.95, 0.99].map((p) => q(`histogram_quantile(${p}, sum by (le) (rate(tachyon_http_request_duration_seconds_bucket[$__rate_interval])))`, `p${p * 100}`)) },
      { title: 'p95 by route', unit: 's', targets: [quantile(0.95, 'tachyon_http_request_duration_seconds', 'route')] },
    ],
  },
  {
    title: 'SLOs',
    panels: [
      { title: `Availability burn rate (SLO ${SLO.availability * 100}%)`, unit: 'none', targets: ['5m', '1h', '6h'].map((w) => q(`tachyon:http_error_ratio:rate${w} / ${Math.round((1 - SLO.availability) * 1e6) / 1e6}`, `${w} {{instance}}`)) },
      { title: `Latency burn rate (${SLO.latency * 100}% < ${SLO.latencyThresholdSeconds * 1000} ms)`, unit: 'none', targets: ['5m', '1h', '6h'].map((w) => q(`tachyon:http_slow_ratio:rate${w} / ${Math.round((1 - SLO.latency) * 1e6) / 1e6}`, `${w} {{instance}}`)) },
      { title: 'Firing alerts', unit: 'none', targets: [q('sum by (alertname) (ALERTS{alertstate="firing"})', '{{alertname}}')] },
    ],
  },
  {
    title: 'Runtime',
    panels: [
      { title: 'CPU utilization', unit: 'percentunit', targets: [q('rate(process_cpu_seconds_total[$__rate_interval]) / tachyon_cpu_cores')] },
      { title: 'Memory (RSS / budget)', unit: 'percentunit', targets: [q('process_resident_memory_bytes / tachyon_memory_limit_bytes')] },
      { title: 'Heap used and external', unit: 'bytes', targets: [q('nodejs_heap_size_used_bytes', 'heap {{instance}}'), q('nodejs_external_memory_bytes', 'external {{instance}}')] },
      { title: 'Event-loop delay p99', unit: 's', targets: [q('nodejs_eventloop_lag_p99_seconds')] },
      { title: 'GC pause time per second', unit: 's', targets: [q('sum by (kind) (rate(nodejs_gc_duration_seconds_sum[$__rate_interval]))', '{{kind}}')] },
      { title: 'Open connections', unit: 'none', targets: [q('tachyon_network_open_connections')] },
    ],
  },
  {
    title: 'Database',
    panels: [
      { title: 'Query p95 by statement', unit: 's', targets: [quantile(0.95, 'tachyon_db_query_duration_seconds', 'statement')] },
      { title: 'Queries per second', unit: 'ops', targets: [q('sum by (target) (rate(tachyon_db_query_duration_seconds_count[$__rate_interval]))', '{{target}}')] },
      { title: 'Pool in use / waiting', unit: 'none', targets: [q('tachyon_db_pool_in_use', 'in use {{instance}}'), q('tachyon_db_pool_waiting', 'waiting {{instance}}')] },
    ],
  },
  {
    title: 'Cache, queue, WebSocket, trading',
    panels: [
      { title: 'Cache hit ratio by class and tier', unit: 'percentunit', targets: [q('sum by (class, tier) (rate(tachyon_cache_hits_total[$__rate_interval])) / (sum by (class, tier) (rate(tachyon_cache_hits_total[$__rate_interval])) + sum by (class, tier) (rate(tachyon_cache_misses_total[$__rate_interval])))', '{{class}} {{tier}}')] },
      { title: 'Task queue depth', unit: 'none', targets: [q('sum by (instance) (tachyon_task_queue_depth)')] },
      { title: 'WebSocket connections', unit: 'none', targets: [q('tachyon_websocket_connections')] },
      { title: 'WebSocket messages per second', unit: 'ops', targets: [q('sum(rate(tachyon_websocket_messages_out_total[$__rate_interval]))', 'sent')] },
      { title: 'Orders by outcome', unit: 'ops', targets: [q('sum by (outcome) (rate(tachyon_orders_total[$__rate_interval]))', '{{outcome}}')] },
      { title: 'Rejections by reason', unit: 'ops', targets: [q('sum by (reason) (rate(tachyon_order_rejections_total[$__rate_interval]))', '{{reason}}')] },
    ],
  },
];

export function dashboard() {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    row.panels.forEach((panel, i) => {
      panels.push({
        id: id++,
        type: 'timeseries',
        title: panel.title,
        datasource: { type: 'prometheus', uid: '${datasource}' },
        fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
        gridPos: { h: 8, w: 8, x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8 },
        targets: panel.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), expr: t.expr, legendFormat: t.legend })),
      });
    });
    y += Math.ceil(row.panels.length / 3) * 8;
  }
  return {
    uid: 'tachyon-overview',
    title: 'Tachyon overview',
    tags: ['tachyon'],
    timezone: 'utc',
    schemaVersion: 39,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }] },
    panels,
  };
}
