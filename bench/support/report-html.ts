/**
 * bench/results/report.html: one self-contained page (inline CSS and SVG, no script, no external
 * resource) from a BenchReport: the machine, load average before and during each bench, and per bench
 * its throughput and latency percentiles beside its reference with the ratio, the per-round figures,
 * and a baseline comparison when one was asked for.
 */
import type { MetricComparison } from './regression.ts';
import type { BenchReport, BenchRun } from './report.ts';
import type { Headline, HeadlinePercentiles } from './results.ts';

const escape = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (n: number, digits = 2) => (Number.isFinite(n) ? (Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits)) : '–');
const SUBJECT = '#1c7ed6';
const REFERENCE = '#adb5bd';

interface Bar {
  label: string;
  values: Array<{ value: number; color: string; name: string }>;
}

/** Grouped horizontal-axis bar chart: one group per label, one bar per series, values printed on top. */
export function barChart(title: string, unit: string, groups: readonly Bar[]): string {
  const width = 420, height = 220, pad = 36, top = 28;
  const max = Math.max(1e-9, ...groups.flatMap((g) => g.values.map((v) => (Number.isFinite(v.value) ? v.value : 0)))) * 1.15;
  const groupW = (width - 2 * pad) / Math.max(1, groups.length);
  const barW = Math.min(48, (groupW * 0.8) / Math.max(1, ...groups.map((g) => g.values.length)));
  const y = (v: number) => height - pad - ((height - pad - top) * v) / max;
  const bars = groups.flatMap((g, gi) => {
    const x0 = pad + gi * groupW + (groupW - barW * g.values.length) / 2;
    const rects = g.values.map((v, vi) => {
      const x = x0 + vi * barW;
      const value = Number.isFinite(v.value) ? v.value : 0;
      return `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(height - pad - y(value)).toFixed(1)}" fill="${v.color}"><title>${escape(v.name)}: ${num(v.value)} ${escape(unit)}</title></rect>` +
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(y(value) - 3).toFixed(1)}" text-anchor="middle">${num(v.value)}</text>`;
    });
    return [...rects, `<text x="${(pad + gi * groupW + groupW / 2).toFixed(1)}" y="${height - pad + 14}" text-anchor="middle">${escape(g.label)}</text>`];
  });
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}" font-family="sans-serif" font-size="11">
<text x="${pad}" y="14" font-weight="bold">${escape(title)} (${escape(unit)})</text>
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#333"/>
${bars.join('\n')}
</svg>`;
}

/** Dots per round of each per-round figure (the noise a comparison has to see through). */
export function roundsChart(rounds: NonNullable<Headline['rounds']>): string {
  const width = 420, rowH = 26, pad = 8, labelW = 0;
  const height = pad * 2 + rowH * rounds.length + 14;
  const rows = rounds.map((r, i) => {
    const finite = r.values.filter(Number.isFinite);
    const lo = Math.min(...finite, 0);
    const hi = Math.max(...finite, 1e-9) * 1.1;
    const x = (v: number) => labelW + pad + ((width - 2 * pad - labelW) * (v - lo)) / (hi - lo);
    const cy = pad + 14 + i * rowH + rowH / 2;
    const dots = finite.map((v) => `<circle cx="${x(v).toFixed(1)}" cy="${cy.toFixed(1)}" r="3.5" fill="${SUBJECT}" fill-opacity="0.7"><title>${num(v, 3)}</title></circle>`).join('');
    return `<text x="${pad}" y="${(cy - 8).toFixed(1)}">${escape(r.name)} (${r.better} is better; 0 … ${num(hi, 2)})</text><line x1="${pad}" y1="${cy}" x2="${width - pad}" y2="${cy}" stroke="#dee2e6"/>${dots}`;
  });
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="rounds" font-family="sans-serif" font-size="11">
<text x="${pad}" y="12" font-weight="bold">per round</text>
${rows.join('\n')}
</svg>`;
}

function percentileGroups(value: HeadlinePercentiles, reference: HeadlinePercentiles | undefined): Bar[] {
  return (['p50', 'p95', 'p99'] as const).filter((p) => value[p] !== undefined).map((p) => ({
    label: p,
    values: [{ value: value[p]!, color: SUBJECT, name: 'measured' }, ...(reference?.[p] !== undefined ? [{ value: reference[p], color: REFERENCE, name: 'reference' }] : [])],
  }));
}

function p95Ratio(l: NonNullable<Headline['latencyMs']>): number | undefined {
  return l.value.p95 !== undefined && l.reference?.p95 !== undefined ? l.value.p95 / l.reference.p95 : undefined;
}

function benchSection(run: BenchRun): string {
  const h = run.headline;
  const head = `<h2 id="${escape(run.name)}">bench:${escape(run.name)} <small>${escape(run.outcome)}, ${run.seconds} s, load ${num(run.load.before)} before, ${num(run.load.duringMean)} during (max ${num(run.load.duringMax)})</small></h2>`;
  if (!h) return `<section>${head}<p>No headline figures: see <code>${escape(run.resultsFile ?? 'no results file')}</code>.</p></section>`;
  const plots: string[] = [];
  if (h.throughput) {
    const t = h.throughput;
    plots.push(barChart(`throughput, ratio ${num(t.value / t.reference)}×`, t.unit, [{ label: 'throughput', values: [{ value: t.value, color: SUBJECT, name: h.subject }, { value: t.reference, color: REFERENCE, name: h.reference }] }]));
  }
  if (h.latencyMs) {
    const ratio = p95Ratio(h.latencyMs);
    plots.push(barChart(`latency percentiles${ratio === undefined ? '' : `, p95 ratio ${num(ratio)}×`}`, 'ms', percentileGroups(h.latencyMs.value, h.latencyMs.reference)));
  }
  for (const f of h.figures ?? []) {
    plots.push(barChart(`${f.name}, ratio ${num(f.value / f.reference)}× (${f.better} is better)`, f.unit, [{ label: f.name, values: [{ value: f.value, color: SUBJECT, name: h.subject }, { value: f.reference, color: REFERENCE, name: h.reference }] }]));
  }
  if (h.rounds?.length) plots.push(roundsChart(h.rounds));
  return `<section>${head}
<p><span class="key" style="background:${SUBJECT}"></span>${escape(h.subject)} &nbsp; <span class="key" style="background:${REFERENCE}"></span>reference: ${escape(h.reference)}</p>
<div class="plots">${plots.join('\n')}</div></section>`;
}

function comparisonSection(label: string, comparisons: readonly MetricComparison[], missing: readonly string[]): string {
  const rows = comparisons.map(
    (c) => `<tr class="${c.verdict.replace(/ /g, '-')}"><td>${escape(c.bench)}</td><td>${escape(c.name)}</td><td>${escape(c.verdict)}${c.gateFailure ? ' (gate fails)' : ''}</td><td>${num(c.change * 100, 1)}%</td><td>${num(c.confidence * 100, 1)}%</td><td>±${num((c.noiseFactor - 1) * 100, 1)}%</td><td>${escape(c.note)}</td></tr>`,
  );
  return `<section><h2>Compared with ${escape(label)}</h2>
<table><tr><th>bench</th><th>figure</th><th>verdict</th><th>change</th><th>confidence</th><th>noise per round</th><th>detail</th></tr>${rows.join('')}</table>
${missing.length ? `<p>In the baseline, not in this run: ${missing.map(escape).join(', ')}</p>` : ''}</section>`;
}

export function renderReportHtml(report: BenchReport, comparison?: { label: string; comparisons: MetricComparison[]; missing: string[] }): string {
  const m = report.machine;
  const overview = report.benches.map((b) => {
    const t = b.headline?.throughput;
    const l = b.headline?.latencyMs;
    return `<tr><td><a href="#${escape(b.name)}">${escape(b.name)}</a></td><td>${escape(b.outcome)}</td><td>${b.seconds}</td><td>${num(b.load.before)}</td><td>${num(b.load.duringMean)}</td><td>${t ? `${num(t.value / t.reference)}×` : '–'}</td><td>${l && p95Ratio(l) !== undefined ? `${num(p95Ratio(l)!)}×` : '–'}</td></tr>`;
  });
  const loadPlot = barChart('load average per bench', 'load', report.benches.map((b) => ({ label: b.name, values: [{ value: b.load.before, color: REFERENCE, name: 'before' }, { value: b.load.duringMean, color: SUBJECT, name: 'during (mean)' }] })));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tachyon benchmark report (${escape(report.profile)})</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #dee2e6;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:12px}.key{display:inline-block;width:10px;height:10px;margin-right:4px}tr.regressed{background:#ffe3e3}tr.improved{background:#d3f9d8}small{font-weight:normal;color:#555}</style>
</head><body>
<h1>Tachyon benchmark report</h1>
<p>Profile <b>${escape(report.profile)}</b>, ${escape(m.date)}; ${escape(m.cpus)} cores (${escape(m.cpuModel)}), ${escape(m.memoryGiB)} GiB, Node ${escape(m.node)}.
Ratios are against a reference measured in the same run; absolute figures depend on the machine and its load (the load generator shares its cores). Figures from a loaded machine are smoke, not a verdict on a target.</p>
<table><tr><th>bench</th><th>outcome</th><th>seconds</th><th>load before</th><th>load during</th><th>throughput ÷ reference</th><th>p95 ÷ reference</th></tr>${overview.join('')}</table>
<div class="plots">${loadPlot}</div>
${comparison ? comparisonSection(comparison.label, comparison.comparisons, comparison.missing) : ''}
${report.benches.map(benchSection).join('\n')}
</body></html>
`;
}
