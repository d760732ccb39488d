/**
 * `npm run bench`: every `bench:<name>` script in package.json, one after another (never in
 * parallel: they share the machine's two cores), with progress, then a table and a report:
 * bench/results/report.json and a self-contained report.html (bench/support/report-html.ts).
 *
 *   npm run bench -- cache ws                       only those
 *   npm run bench -- --profile quick                seconds per bench (BENCH_PROFILE=quick does the same)
 *   npm run bench -- --compare bench/baseline/quick.json
 *        the benches of that baseline (unless named), each per-round figure ranked against it:
 *        improved / unchanged / regressed with size and confidence; exit 1 only on a regression far
 *        outside the noise band (bench/support/regression.ts)
 *   npm run bench -- --save-baseline FILE           this run's report as a baseline
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { profileEnv, profileOf } from './support/profile.ts';
import { compareRuns } from './support/regression.ts';
import { headlineOf, loadReport, loadSampler, newReport, roundsMetrics, type BenchReport } from './support/report.ts';
import { renderReportHtml } from './support/report-html.ts';
import { printTable } from './support/results.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { profile: { type: 'string' }, compare: { type: 'string' }, 'save-baseline': { type: 'string' } },
});
const profile = profileOf(args.profile ?? process.env.BENCH_PROFILE);
const baseline: BenchReport | undefined = args.compare ? loadReport(args.compare) : undefined;
const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const only = new Set(positionals.length > 0 ? positionals : (baseline?.benches.map((b) => b.name) ?? []));
const names = Object.keys(scripts)
  .filter((s) => s.startsWith('bench:'))
  .map((s) => s.slice('bench:'.length))
  .filter((name) => only.size === 0 || only.has(name));
const unknown = [...only].filter((n) => !names.includes(n));
if (unknown.length > 0) throw new Error(`no bench script for ${unknown.join(', ')} (package.json scripts bench:<name>)`);

const load1 = () => loadavg()[0]!;
const report = newReport(profile);
const started = performance.now();
const elapsed = (from: number) => Math.round((performance.now() - from) / 1000);

function runBench(name: string): Promise<number | string> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', `bench:${name}`], { stdio: 'inherit', env: profileEnv(profile) });
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
}

for (const [i, name] of names.entries()) {
  console.log(`\n=== [${i + 1}/${names.length}] bench:${name} (${profile}; ${elapsed(started)} s so far, load ${load1().toFixed(2)}) ===`);
  const before = load1();
  const sampler = loadSampler(load1);
  const from = performance.now();
  // Progress between a bench's own lines: which one, for how long, on how loaded a machine.
  const heartbeat = setInterval(() => process.stderr.write(`… bench:${name} [${i + 1}/${names.length}] running ${elapsed(from)} s, load ${load1().toFixed(2)}\n`), 15_000);
  const status = await runBench(name);
  clearInterval(heartbeat);
  const resultsFile = `bench/results/${name}.json`;
  report.benches.push({
    name,
    outcome: status === 0 ? 'ok' : `failed (${status})`,
    seconds: elapsed(from),
    load: { before, ...sampler.stop() },
    resultsFile: existsSync(resultsFile) ? resultsFile : null,
    headline: status === 0 ? headlineOf(resultsFile) : null,
  });
}

console.log('');
printTable(report.benches.map((b) => ({ benchmark: b.name, outcome: b.outcome, seconds: b.seconds, 'load before': b.load.before.toFixed(2), 'load during': b.load.duringMean.toFixed(2), results: b.resultsFile ?? '-' })));

const comparison = baseline && { label: args.compare!, ...compareRuns(roundsMetrics(baseline), roundsMetrics(report)) };
if (comparison) {
  console.log(`\ncompared with ${comparison.label} (${baseline.profile} profile, ${String(baseline.machine.date)}):`);
  printTable(comparison.comparisons.map((c) => ({ bench: c.bench, figure: c.name, verdict: c.gateFailure ? `${c.verdict} (GATE)` : c.verdict, change: `${(c.change * 100).toFixed(1)}%`, confidence: `${(c.confidence * 100).toFixed(1)}%`, noise: `±${((c.noiseFactor - 1) * 100).toFixed(1)}%` })));
  for (const m of comparison.missing) console.log(`missing in this run: ${m}`);
}

mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/report.json', `${JSON.stringify(report, null, 2)}\n`);
writeFileSync('bench/results/report.html', renderReportHtml(report, comparison));
console.log(`\nreport: bench/results/report.html (and report.json); load average ${load1().toFixed(2)} at the end`);
if (args['save-baseline']) {
  mkdirSync(dirname(args['save-baseline']), { recursive: true });
  copyFileSync('bench/results/report.json', args['save-baseline']);
  console.log(`baseline saved to ${args['save-baseline']}`);
}

const failed = report.benches.filter((b) => b.outcome !== 'ok');
if (comparison?.gateFailed) console.error(`regression far outside the noise band: ${comparison.comparisons.filter((c) => c.gateFailure).map((c) => `${c.bench} ${c.name} ${c.note}`).join('; ')}`);
process.exitCode = failed.length > 0 || comparison?.gateFailed ? 1 : 0;
