/**
 * Distributed load generation: requests/s that 1, 2 and 3 agents (`tachyon loadtest agent`
 * processes on this machine, one load thread each) get out of a bare node:http server, next to
 * autocannon and the in-process generator against the same server in the same run. Every generator
 * keeps the same 50 connections (VUs) in total for the same time; an agent run's rate counts from
 * the shared start to the last agent's end, and its percentiles come from the merged HDR histograms.
 * Two rounds; ratios are against autocannon in the same round. The agents are spawned once and warmed
 * up, so their start-up is not measured.
 * Writes bench/results/agents.json.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { spawnLocalAgents } from '../src/loadtest/distributed/local-agents.ts';
import { DEFAULT_GUARDRAILS } from '../src/loadtest/guardrails.ts';
import type { MetricSummary, RunResult } from '../src/loadtest/results.ts';
import { runLoadTest } from '../src/loadtest/run.ts';
import { startReference } from './support/processes.ts';
import { median } from './support/regression.ts';
import { machine, printTable, writeResults, type Headline } from './support/results.ts';

const CONNECTIONS = 50;
const SECONDS = 5;
const ROUNDS = 2;
const SCENARIO = fileURLToPath(new URL('./support/get-root.scenario.ts', import.meta.url));

interface Figure {
  generator: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
}

type Trend = Extract<MetricSummary, { kind: 'trend' }>;
const figureOf = (generator: string, round: number, r: RunResult): Figure => {
  const d = r.metrics.http_req_duration as Trend;
  return { generator, round, rps: d.count / (r.durationMs / 1000), p50: d.med, p99: d.p99 };
};

const loadBefore = loadavg()[0]!;
console.log(`agents benchmark — ${machine().cpus} core(s) shared by every generator and the server; load average ${loadBefore.toFixed(2)}\n`);
const server = await startReference('bench/support/bare-server.mjs');
const agents = await spawnLocalAgents(3, { guardrails: DEFAULT_GUARDRAILS });
const figures: Figure[] = [];
try {
  const run = (urls: string[] | undefined, seconds = SECONDS) => runLoadTest(SCENARIO, {
    target: server.url, vus: CONNECTIONS, duration: `${seconds}s`,
    ...(urls ? { agents: { urls, token: agents.token } } : {}),
  });
  // Warm-up (JIT, tsx transpile, connections) in this process and in every agent's thread.
  await run(undefined, 2);
  await run(agents.urls, 2);
  for (let round = 1; round <= ROUNDS; round++) {
    const ac = await autocannon({ url: server.url, connections: CONNECTIONS, duration: SECONDS });
    figures.push({ generator: 'autocannon', round, rps: ac.requests.total / SECONDS, p50: ac.latency.p50, p99: ac.latency.p99 });
    figures.push(figureOf('in-process', round, await run(undefined)));
    for (const n of [1, 2, 3]) figures.push(figureOf(`${n} agent${n > 1 ? 's' : ''}`, round, await run(agents.urls.slice(0, n))));
  }
} finally {
  await agents.close();
  await server.stop();
}
const loadAfter = loadavg()[0]!;

const rows = figures.map((f) => {
  const reference = figures.find((x) => x.round === f.round && x.generator === 'autocannon')!.rps;
  return { round: f.round, generator: f.generator, 'req/s': Math.round(f.rps), 'vs autocannon': `${(f.rps / reference).toFixed(2)}×`, p50: `${f.p50.toFixed(2)} ms`, p99: `${f.p99.toFixed(2)} ms` };
});
console.log(`${CONNECTIONS} connections in total, ${SECONDS}s per run, GET / on a bare node:http server (autocannon's latency is whole ms)`);
printTable(rows);
const mean = (g: string) => figures.filter((f) => f.generator === g).reduce((s, f) => s + f.rps, 0) / ROUNDS;
const summary = Object.fromEntries(['autocannon', 'in-process', '1 agent', '2 agents', '3 agents'].map((g) => [g, { rps: Math.round(mean(g)), vsAutocannon: mean(g) / mean('autocannon') }]));
console.log(`\nmean of ${ROUNDS} rounds:`);
printTable(Object.entries(summary).map(([g, s]) => ({ generator: g, 'req/s': s.rps, 'vs autocannon': `${s.vsAutocannon.toFixed(2)}×` })));
console.log(`\nload average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after${loadBefore > 4 ? ' — high: these figures are a smoke run' : ''}`);
const medianOf = (g: string, key: 'rps' | 'p50' | 'p99') => median(figures.filter((f) => f.generator === g).map((f) => f[key]));
const headline: Headline = {
  subject: 'load generator, 3 agents',
  reference: 'autocannon (same run)',
  throughput: { unit: 'req/s', value: medianOf('3 agents', 'rps'), reference: medianOf('autocannon', 'rps') },
  latencyMs: { value: { p50: medianOf('3 agents', 'p50'), p99: medianOf('3 agents', 'p99') }, reference: { p50: medianOf('autocannon', 'p50'), p99: medianOf('autocannon', 'p99') } },
};
console.log(`wrote ${writeResults('agents', { connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, loadAverage: { before: loadBefore, after: loadAfter }, figures, summary, headline })}`);
