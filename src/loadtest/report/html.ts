/**
 * Self-contained HTML report: verdict, thresholds, latency percentiles and throughput over time
 * (inline SVG), metrics and per-endpoint tables. One file, no external resources.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatDuration } from '../duration.ts';
import type { RunResult } from '../results.ts';
import { escapeHtml as esc, lineChart } from './svg.ts';
import type { Band } from './svg.ts';
import { formatMs } from './text.ts';

export function renderHtmlReport(result: RunResult): string {
  const tl = result.timeline;
  // Faults shaded red; recoveries and phases would crowd the plot, so they are only in the table.
  const bands: Band[] = (result.intervals ?? []).filter((i) => i.kind === 'fault').map((i) => ({ from: i.fromS, to: i.toS + 1, color: '#dc2626', label: i.label }));
  const latency = lineChart('Latency over time — http_req_duration', 'ms', [
    { label: 'p50', color: '#2563eb', points: tl.map((p) => [p.t, p.p50]) },
    { label: 'p95', color: '#d97706', points: tl.map((p) => [p.t, p.p95]) },
    { label: 'p99', color: '#dc2626', points: tl.map((p) => [p.t, p.p99]) },
  ], bands);
  const throughput = lineChart('Throughput over time', 'per second', [
    { label: 'requests', color: '#059669', points: tl.map((p) => [p.t, p.requests]) },
    { label: 'failed', color: '#dc2626', points: tl.map((p) => [p.t, p.failed]) },
    { label: 'iterations', color: '#7c3aed', points: tl.map((p) => [p.t, p.iterations]) },
  ], bands);
  const verdictColor = result.status === 'passed' ? '#059669' : '#dc2626';
  const rows = (cells: string[][]): string => cells.map((r) => `<tr>${r.map((c, i) => `<td${i > 0 ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('');
  const metricRows = Object.entries(result.metrics).map(([name, m]) => {
    if (m.kind === 'trend') return [name, String(m.count), formatMs(m.avg), formatMs(m.med), formatMs(m.p90), formatMs(m.p95), formatMs(m.p99), formatMs(m.p999), formatMs(m.max)];
    if (m.kind === 'counter') return [name, String(m.count), `${m.rate.toFixed(1)}/s`, '', '', '', '', '', ''];
    return [name, String(m.passes + m.fails), `${(100 * m.rate).toFixed(2)}%`, '', '', '', '', '', ''];
  });
  const endpointRows = result.endpoints.map((e) => [`${e.method} ${e.endpoint}`, String(e.requests), e.rps.toFixed(1), `${(100 * e.failedRate).toFixed(2)}%`, formatMs(e.latency.med), formatMs(e.latency.p95), formatMs(e.latency.p99), formatMs(e.latency.p999), formatMs(e.latency.max)]);
  const intervalRows = (result.intervals ?? []).map((i) => [
    i.passed ? '✓' : '✗',
    `${i.label}${i.detail ? ` — ${i.detail}` : ''}`,
    `${i.fromS}–${i.toS}s`,
    String(i.requests),
    `${(100 * i.failedRate).toFixed(2)}%`,
    formatMs(i.p95),
    formatMs(i.p99),
    i.thresholds.map((t) => `${t.passed ? '✓' : '✗'} ${t.key}: ${t.source} (${t.noData ? 'no data' : (t.observed ?? 0).toFixed(3)})`).join('; '),
  ]);
  const thresholdRows = result.thresholds.map((t) => [t.passed ? '✓' : '✗', t.key, t.source, t.noData ? 'no data' : (t.observed ?? 0).toFixed(3), t.worstWindowStart !== undefined ? `${t.worstWindowStart}s` : '']);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Load test — ${esc(result.scenario)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#111827}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
td,th{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:left}td.n,th.n{text-align:right}
.verdict{color:#fff;background:${verdictColor};padding:2px 8px;border-radius:4px}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}figcaption span{font-weight:400;margin-left:8px}
</style></head><body>
<h1><span class="verdict">${esc(result.status.toUpperCase())}</span> ${esc(result.scenario)}</h1>
<p>${esc(result.target)} · ${esc(result.executor.type)} (${result.model} model) · ${result.workers} thread(s)${result.agents ? ` on ${result.agents.length} agent(s) (${esc(result.agents.map((a) => `${a.url} ${a.segment}`).join(', '))})` : ''} · ${esc(formatDuration(result.durationMs))} · started ${esc(result.startedAt)}${result.aborted ? ` · stopped early (${esc(result.aborted.reason)}: ${esc(result.aborted.detail)})` : ''}</p>
${thresholdRows.length ? `<h2>Thresholds</h2><table><tr><th></th><th>metric</th><th>threshold</th><th class="n">observed</th><th class="n">worst window</th></tr>${rows(thresholdRows)}</table>` : ''}
<h2>Over time</h2>${latency}${throughput}
${intervalRows.length ? `<h2>Intervals</h2><table><tr><th></th><th>interval</th><th>span</th><th class="n">reqs</th><th class="n">failed</th><th class="n">p95</th><th class="n">p99</th><th>thresholds</th></tr>${rows(intervalRows)}</table>` : ''}
<h2>Endpoints</h2><table><tr><th>endpoint</th><th class="n">reqs</th><th class="n">req/s</th><th class="n">failed</th><th class="n">med</th><th class="n">p95</th><th class="n">p99</th><th class="n">p99.9</th><th class="n">max</th></tr>${rows(endpointRows)}</table>
<h2>Metrics</h2><table><tr><th>metric</th><th class="n">count</th><th class="n">avg / rate</th><th class="n">med</th><th class="n">p90</th><th class="n">p95</th><th class="n">p99</th><th class="n">p99.9</th><th class="n">max</th></tr>${rows(metricRows)}</table>
${result.errors.length ? `<h2>Iteration errors</h2><table>${rows(result.errors.map((e) => [e.message, String(e.count)]))}</table>` : ''}
<p><small>http_req_duration is timed from when each request was due (corrected for coordinated omission in the open model); http_req_service_time from when it was sent.</small></p>
</body></html>
`;
}

export async function writeHtmlReport(path: string, result: RunResult): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderHtmlReport(result));
}
