/**
 * bench/results/report.html from fixture result files: self-contained (no script, no external
 * resource), every bench with a headline gets its throughput, latency and rounds plots with the
 * reference and the ratio, a bench without one is listed, the comparison is shown; and in a real
 * browser (Chromium, when installed) the page parses with every SVG well-formed.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../bench/support/regression.ts';
import { headlineOf, newReport, roundsMetrics, type BenchReport } from '../../bench/support/report.ts';
import { renderReportHtml } from '../../bench/support/report-html.ts';
import type { Headline } from '../../bench/support/results.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function fixtureReport(scale: number): BenchReport {
  const dir = mkdtempSync(join(tmpdir(), 'tachyon-report-'));
  const headline: Headline = {
    subject: 'GET quote <cached>',
    reference: 'bare node:http',
    throughput: { unit: 'req/s', value: 9000 * scale, reference: 12000 },
    latencyMs: { value: { p50: 1.2, p95: 3.4, p99: 7.8 }, reference: { p50: 0.8, p95: 2.1, p99: 4.0 } },
    rounds: [{ name: 'quote throughput ÷ bare', unit: '×', better: 'higher', values: [0.74, 0.76, 0.75, 0.73, 0.77].map((v) => v * scale) }],
  };
  writeFileSync(join(dir, 'gate.json'), JSON.stringify({ benchmark: 'gate', headline }));
  writeFileSync(join(dir, 'memory.json'), JSON.stringify({ benchmark: 'memory', rows: [] }));
  const report = newReport('quick');
  report.benches.push(
    { name: 'gate', outcome: 'ok', seconds: 31, load: { before: 1.5, duringMean: 2.2, duringMax: 2.9 }, resultsFile: join(dir, 'gate.json'), headline: headlineOf(join(dir, 'gate.json')) },
    { name: 'memory', outcome: 'failed (1)', seconds: 4, load: { before: 2, duringMean: 2, duringMax: 2 }, resultsFile: join(dir, 'memory.json'), headline: headlineOf(join(dir, 'memory.json')) },
  );
  return report;
}

describe('benchmark report', () => {
  const baseline = fixtureReport(1);
  const current = fixtureReport(0.5);
  const comparison = { label: 'bench/baseline/quick.json', ...compareRuns(roundsMetrics(baseline), roundsMetrics(current)) };
  const html = renderReportHtml(current, comparison);

  it('is self-contained, with the machine, the load, the plots, the ratios and the comparison', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|src="http|href="http|<link/);
    expect(html).toContain(`${current.machine.cpus} cores`);
    expect(html).toContain(`Node ${process.version}`);
    // Load plot, then the gate's throughput, latency and rounds plots; memory has none.
    expect(html.match(/<svg class="plot"/g)).toHaveLength(4);
    expect(html).toContain('throughput, ratio 0.38×');
    expect(html).toContain('p95 ratio 1.62×');
    expect(html).toContain('GET quote &#60;cached&#62;');
    expect(html).toMatch(/No headline figures: see <code>[^<]*memory\.json<\/code>/);
    expect(html).toContain('regressed (gate fails)');
    expect(headlineOf('/nonexistent/x.json')).toBeNull();
  });

  it('plots other headline figures beside their reference, and latency without a p95', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyon-report-'));
    const headline: Headline = {
      subject: 'tachyon start, compiled',
      reference: 'from sources',
      latencyMs: { value: { p50: 2, p99: 9 }, reference: { p50: 1, p99: 3 } },
      figures: [{ name: 'idle RSS', unit: 'MiB', better: 'lower', value: 300, reference: 400 }],
    };
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ benchmark: 'runtime', headline }));
    const report = newReport('quick');
    report.benches.push({ name: 'runtime', outcome: 'ok', seconds: 9, load: { before: 1, duringMean: 1, duringMax: 1 }, resultsFile: join(dir, 'runtime.json'), headline: headlineOf(join(dir, 'runtime.json')) });
    const page = renderReportHtml(report);
    // Load plot, latency plot, one figure plot.
    expect(page.match(/<svg class="plot"/g)).toHaveLength(3);
    expect(page).toContain('idle RSS, ratio 0.75× (lower is better)');
    expect(page).toContain('latency percentiles');
    expect(page).not.toContain('p95 ratio');
    expect(page).not.toContain('NaN');
  });

  it.skipIf(!existsSync(CHROMIUM))('parses in a browser with every plot a well-formed SVG', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.setContent(html);
      // Runs in the page (a string: this project's TypeScript has no DOM types).
      const figures = (await page.evaluate(`(() => {
        const svgs = [...document.querySelectorAll('svg.plot')];
        const wellFormed = svgs.filter((s) => !new DOMParser().parseFromString(s.outerHTML, 'image/svg+xml').querySelector('parsererror')).length;
        return { svgs: svgs.length, wellFormed, bars: document.querySelectorAll('svg.plot rect').length, sections: document.querySelectorAll('section').length, title: document.title };
      })()`)) as { svgs: number; wellFormed: number; bars: number; sections: number; title: string };
      expect(figures).toEqual({ svgs: 4, wellFormed: 4, bars: 4 + 2 + 6, sections: 3, title: 'Tachyon benchmark report (quick)' });
    } finally {
      await browser.close();
    }
  }, 60_000);
});
