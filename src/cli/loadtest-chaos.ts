/**
 * `tachyon loadtest --scenario chaos` (npm run loadtest:chaos): one command that starts a fresh
 * N-instance cluster behind fault proxies, runs the steady trading load while faults are injected on
 * a schedule, judges each fault, each recovery and the correctness checks, tears everything down and
 * prints the summary (exit code 0 when everything held, 99 when something failed, 2 on bad input).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HAPROXY } from '../cluster/local-cluster.ts';
import { loadConfig } from '../config/config.ts';
import { TachyonError } from '../kernel/errors.ts';
import { shippedScenarioFile } from '../loadtest/builtin.ts';
import { FAULT_KINDS, parseFaults } from '../loadtest/chaos/faults.ts';
import { runChaos } from '../loadtest/chaos/run-chaos.ts';
import { parseDuration } from '../loadtest/duration.ts';
import { formatSummary, ProgressPrinter, writeHtmlReport, writeJsonResults } from '../loadtest/index.ts';
import { importScenario, scenarioUrl } from '../loadtest/load-scenario.ts';
import type { TradingData } from '../loadtest/trading/accounts.ts';
import type { Scenario } from '../loadtest/scenario.ts';
import { numberOf, parseTags, parseThresholdFlags } from './loadtest.ts';

export const CHAOS_USAGE = `usage: tachyon loadtest --scenario chaos [options]

Starts a fresh cluster (a new database on the PostgreSQL server of DATABASE_URL, default
postgres://127.0.0.1:5432/postgres; Redis at REDIS_URL, default redis://127.0.0.1:6379, keys under a
run prefix), reached through TCP proxies the run controls, and HAProxy; runs a steady trading load
through it while faults are injected one after another; stops and removes everything.

  --duration 2m          length of the load (the load's own; longer runs repeat the fault cycle)
  --faults LIST          in order, comma-separated (default ${FAULT_KINDS.join(',')})
  --instances 3          cluster size (at least 2)
  --base-port PORT       HAProxy on PORT, stats PORT+1, instances PORT+10… (default: a free block)
  --load FILE            the steady load (default: scenarios/chaos.ts, a trading mix)
  --rate N  --vus N      override the load's arrival rate and VU cap
  --slo 'K: EXPR'        the steady SLO, judged before the faults and after each (repeatable;
                         default 'http_req_failed: rate<0.01' and 'http_req_duration: p(95)<500')
  --threshold 'K: EXPR'  extra whole-run threshold, repeatable
  --report DIR           write DIR/results.json and DIR/report.html (faults shaded on the plots)
  --keep-database        keep the run's database (its name is printed)
  --tag key=value        tag every sample, repeatable`;

const DEFAULT_SLO = ['http_req_failed: rate<0.01', 'http_req_duration: p(95)<500'];

export async function runChaosCommand(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        duration: { type: 'string' },
        faults: { type: 'string', default: FAULT_KINDS.join(',') },
        instances: { type: 'string', default: '3' },
        'base-port': { type: 'string' },
        load: { type: 'string' },
        rate: { type: 'string' },
        vus: { type: 'string' },
        slo: { type: 'string', multiple: true },
        threshold: { type: 'string', multiple: true },
        report: { type: 'string' },
        'keep-database': { type: 'boolean', default: false },
        tag: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${CHAOS_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(CHAOS_USAGE);
    return 0;
  }
  if (spawnSync(HAPROXY, ['-v']).status !== 0) {
    console.error('tachyon loadtest --scenario chaos starts a cluster behind HAProxy: install it (Debian/Ubuntu: apt-get install haproxy).');
    return 2;
  }
  const config = loadConfig();
  const controller = new AbortController();
  const interrupt = (): void => controller.abort('interrupted (SIGINT)');
  process.once('SIGINT', interrupt);
  const printer = new ProgressPrinter();
  const runDir = mkdtempSync(join(tmpdir(), 'tachyon-chaos-'));
  let keepRunDir = true;
  try {
    const instances = numberOf(args.instances, '--instances') ?? 3;
    if (!Number.isInteger(instances) || instances < 2) {
      keepRunDir = false;
      console.error('--instances: a chaos run needs at least 2 instances (one is failed at a time)');
      return 2;
    }
    const basePort = numberOf(args['base-port'], '--base-port');
    const scenario = (await importScenario(scenarioUrl(args.load ?? shippedScenarioFile('chaos')))) as Scenario<TradingData>;
    const executor = scenario.options.executor;
    const durationMs = parseDuration(args.duration ?? ('duration' in executor ? executor.duration : '2m'));
    const slo = parseThresholdFlags(args.slo ?? DEFAULT_SLO);
    const { result, faults, skipped, reconcileProblems, lostOrders } = await runChaos({
      environment: {
        instances,
        basePort,
        databaseUrl: process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres',
        redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        runDir,
        env: process.env,
        log: (line) => console.log(line),
      },
      scenario,
      faults: parseFaults(args.faults),
      durationMs,
      leaseTtlMs: config.cluster.leaseTtlMs,
      slo,
      keepDatabase: args['keep-database'],
      load: {
        rate: numberOf(args.rate, '--rate'),
        vus: numberOf(args.vus, '--vus'),
        thresholds: parseThresholdFlags(args.threshold ?? []),
        tags: parseTags(args.tag ?? []),
        name: 'chaos',
        signal: controller.signal,
        guardrails: config.loadtest,
        onProgress: (p) => printer.update(p),
      },
      log: (line) => {
        printer.done();
        console.log(line);
      },
    });
    printer.done();
    console.log(formatSummary(result));
    console.log('\nfaults');
    for (const f of faults) console.log(`  ${f.error ? '✗' : '✓'} ${f.kind}: ${f.detail}`);
    for (const f of skipped) console.log(`  ✗ ${f.kind}: not injected (no time left)`);
    if (lostOrders.length > 0) console.log(`\nacknowledged orders missing from the database: ${lostOrders.slice(0, 20).join(', ')}${lostOrders.length > 20 ? ' …' : ''}`);
    if (reconcileProblems.length > 0) console.log(`\nreconcile: ${reconcileProblems.length} difference(s)\n${reconcileProblems.slice(0, 10).map((p) => `  ${p}`).join('\n')}`);
    if (args.report) {
      await writeJsonResults(join(args.report, 'results.json'), result);
      await writeHtmlReport(join(args.report, 'report.html'), result);
      console.log(`report: ${join(args.report, 'report.html')}`);
    }
    keepRunDir = result.status !== 'passed';
    if (keepRunDir) console.log(`instance logs kept in ${runDir}`);
    return result.exitCode;
  } catch (error) {
    printer.done();
    if (error instanceof TachyonError && error.status < 500) {
      keepRunDir = false;
      console.error(`tachyon loadtest: ${error.message}`);
      return 2;
    }
    console.error(`instance logs kept in ${runDir}`);
    throw error;
  } finally {
    process.off('SIGINT', interrupt);
    if (!keepRunDir) rmSync(runDir, { recursive: true, force: true });
  }
}
