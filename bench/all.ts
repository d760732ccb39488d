/**
 * `npm run bench`: every `bench:<name>` script in package.json, one after another (never in
 * parallel: they share the machine's two cores), then a table of which finished and where each
 * wrote its figures. `npm run bench -- cache ws` runs only those.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { printTable } from './support/results.ts';

const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const only = new Set(process.argv.slice(2));
const names = Object.keys(scripts)
  .filter((s) => s.startsWith('bench:'))
  .map((s) => s.slice('bench:'.length))
  .filter((name) => only.size === 0 || only.has(name));

const rows: Record<string, string | number>[] = [];
for (const [i, name] of names.entries()) {
  console.log(`\n=== [${i + 1}/${names.length}] bench:${name} ===`);
  const started = performance.now();
  const run = spawnSync('npm', ['run', '--silent', `bench:${name}`], { stdio: 'inherit' });
  const results = `bench/results/${name}.json`;
  rows.push({
    benchmark: name,
    outcome: run.status === 0 ? 'ok' : `failed (${run.status ?? run.signal})`,
    seconds: ((performance.now() - started) / 1000).toFixed(0),
    results: existsSync(results) ? results : '-',
  });
}
console.log('');
printTable(rows);
process.exitCode = rows.some((r) => r.outcome !== 'ok') ? 1 : 0;
