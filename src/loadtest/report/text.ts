/** End-of-test summary for terminals: metrics table (k6-like), per-endpoint table, thresholds, errors. */
import { formatDuration } from '../duration.ts';
import { defaultHigherIsBetter, type Comparison, type MetricDelta } from '../baseline.ts';
import type { MetricSummary, RunResult } from '../results.ts';

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms >= 1) return `${ms.toFixed(2)}ms`;
  return `${(ms * 1000).toFixed(0)}µs`;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Rate metrics count a condition: true is good for checks and `_ok`/`_success`, bad otherwise (`http_req_failed`). */
function metricCells(name: string, m: MetricSummary): string[] {
  if (m.kind === 'trend') return [String(m.count), formatMs(m.avg), formatMs(m.med), formatMs(m.p95), formatMs(m.p99), formatMs(m.max)];
  if (m.kind === 'counter') return [String(m.count), `${m.rate.toFixed(1)}/s`, '', '', '', ''];
  const [good, bad] = defaultHigherIsBetter(name) ? [m.passes, m.fails] : [m.fails, m.passes];
  return [String(m.passes + m.fails), `${(100 * m.rate).toFixed(2)}%`, `✓ ${good}`, `✗ ${bad}`, '', ''];
}

export function formatSummary(result: RunResult): string {
  const out: string[] = [];
  const verdict = result.status === 'passed' ? '✓ PASSED' : result.status === 'aborted' ? '■ ABORTED' : '✗ FAILED';
  out.push(`${verdict}  ${result.scenario} → ${result.target}`);
  out.push(`${result.executor.type} (${result.model} model), ${result.workers} thread(s)${result.agents ? ` on ${result.agents.length} agent(s)` : ''}, ran ${formatDuration(result.durationMs)}${result.aborted ? `, stopped early: ${result.aborted.reason} — ${result.aborted.detail}` : ''}`);
  out.push('');
  out.push(table(['metric', 'count', 'avg / rate', 'med', 'p95', 'p99', 'max'], Object.entries(result.metrics).map(([name, m]) => [name, ...metricCells(name, m)])));
  if (result.endpoints.length > 0) {
    out.push('');
    out.push(table(['endpoint', 'reqs', 'req/s', 'failed', 'med', 'p95', 'p99', 'max'], result.endpoints.map((e) => [
      `${e.method} ${e.endpoint}`, String(e.requests), e.rps.toFixed(1), `${(100 * e.failedRate).toFixed(2)}%`,
      formatMs(e.latency.med), formatMs(e.latency.p95), formatMs(e.latency.p99), formatMs(e.latency.max),
    ])));
  }
  if (result.thresholds.length > 0) {
    out.push('');
    out.push('thresholds');
    for (const t of result.thresholds) {
      const observed = t.noData ? 'no data' : `observed ${t.observed?.toFixed(3)}${t.worstWindowStart !== undefined ? ` (worst window from ${t.worstWindowStart}s)` : ''}`;
      out.push(`  ${t.passed ? '✓' : '✗'} ${t.key}: ${t.source} — ${observed}${t.abortOnFail ? ' [abortOnFail]' : ''}`);
    }
  }
  if (result.intervals && result.intervals.length > 0) {
    out.push('');
    out.push('intervals');
    for (const i of result.intervals) {
      out.push(`  ${i.passed ? '✓' : '✗'} ${i.label} ${i.fromS}–${i.toS}s: ${i.requests} reqs, ${(100 * i.failedRate).toFixed(2)}% failed, p95 ${formatMs(i.p95)}, p99 ${formatMs(i.p99)}${i.detail ? ` — ${i.detail}` : ''}`);
      for (const t of i.thresholds.filter((r) => !r.passed)) out.push(`      ✗ ${t.key}: ${t.source} — observed ${t.observed?.toFixed(3)}`);
    }
  }
  if (result.errors.length > 0) {
    out.push('');
    out.push('iteration errors');
    for (const e of result.errors) out.push(`  ${e.count}× ${e.message}`);
  }
  return out.join('\n');
}

/** Baseline comparison for terminals: verdict, then regressed, improved and unchanged figures with their change and confidence. */
export function formatComparison(comparison: Comparison, label: string): string {
  const line = (d: MetricDelta): string => {
    const value = (v: number): string => (d.stat === 'rate' ? v.toFixed(4) : formatMs(v));
    const change = Number.isFinite(d.change) ? `${d.change >= 0 ? '+' : ''}${(100 * d.change).toFixed(1)}%` : 'new';
    return `  ${d.metric} ${d.stat}: ${value(d.baseline)} → ${value(d.current)} (${change}, tolerance ${(100 * d.tolerance).toFixed(0)}%, confidence of a difference ${(100 * d.confidence).toFixed(1)}%)`;
  };
  const unchanged = comparison.compared.filter((d) => d.verdict === 'unchanged');
  const out = [`${comparison.passed ? '✓' : '✗'} baseline ${label}: ${comparison.regressions.length} regression(s), ${comparison.improvements.length} improvement(s) over ${comparison.compared.length} figures`];
  if (comparison.regressions.length > 0) out.push('regressions', ...comparison.regressions.map(line));
  if (comparison.improvements.length > 0) out.push('improvements', ...comparison.improvements.map(line));
  if (unchanged.length > 0) out.push('unchanged (within tolerance or noise)', ...unchanged.map(line));
  if (comparison.missing.length > 0) out.push(`not produced by this run: ${comparison.missing.join(', ')}`);
  if (comparison.insufficient.length > 0) out.push(`changed, but too few samples to tell from noise: ${comparison.insufficient.join(', ')}`);
  return out.join('\n');
}
