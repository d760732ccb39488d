/**
 * `tachyon loadtest`: runs a scenario against a target with live progress, prints the summary,
 * writes results.json + report.html, saves or compares baselines. Exit code 0 when every threshold
 * (and the baseline comparison) holds, 99 when one fails, 105 when interrupted, 2 on bad input.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { BadRequestError, TachyonError } from '../kernel/errors.ts';
import { compareWithBaseline, formatComparison, formatSummary, loadBaseline, ProgressPrinter, runLoadTest, saveBaseline, writeHtmlReport, writeJsonResults } from '../loadtest/index.ts';
import type { ThresholdInput } from '../loadtest/index.ts';
import type { AgentTargets } from '../loadtest/distributed/coordinator.ts';
import { parseDuration } from '../loadtest/duration.ts';
import { BUILTIN_SCENARIOS, scenarioPath } from '../loadtest/builtin.ts';
import { localAdminToken } from './local-server.ts';

const USAGE = `usage: tachyon loadtest --scenario NAME|FILE [options]
       tachyon loadtest agent [options]   (a load generator for --agents; see loadtest agent --help)

  --scenario NAME|FILE   built-in (${BUILTIN_SCENARIOS.join(', ')}) or a .ts/.yaml scenario file;
                         chaos starts its own cluster and injects faults (--scenario chaos --help)
  --target URL           system under test (default http://127.0.0.1:3000)
  --duration 30s         override a constant executor's duration
  --rate N               constant arrival rate (iterations/s) instead of the scenario's executor
  --vus N                constant VUs (closed model), or the VU cap of an arrival-rate executor
  --threshold 'K: EXPR'  extra threshold, repeatable: 'http_req_duration: p(95)<200'
  --report DIR           write DIR/results.json and DIR/report.html
  --baseline FILE        compare with a saved baseline (regressions fail the run)
  --save-baseline FILE   save this run as a baseline
  --tolerance 0.1        allowed relative worsening against the baseline
  --workers N            load-generating threads (default 1; with --agents N, per agent)
  --agents N|URL,URL     distributed: N local agent processes, or running agents
                         (tachyon loadtest agent) sharing TACHYON_AGENT_TOKEN
  --agents-wait 60s      wait this long for agents that do not answer yet (default 0)
  --admin-token TOKEN    creates the per-VU accounts (default: TACHYON_ADMIN_TOKEN, or for a
                         target on this machine the demo admin token kept in TACHYON_DATA_DIR)
  --tag key=value        tag every sample, repeatable

Guardrails: TACHYON_LOADTEST_ALLOWED_HOSTS, TACHYON_LOADTEST_MAX_DURATION (s), TACHYON_LOADTEST_MAX_RATE.`;

const EXIT_BAD_INPUT = 2;
const EXIT_FAILED = 99;

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'agent') return (await import('./loadtest-agent.ts')).run(argv.slice(1));
  // The chaos scenario starts and fails its own cluster: its own command, with its own options.
  if (argv.some((arg, i) => arg === '--scenario=chaos' || (arg === '--scenario' && argv[i + 1] === 'chaos'))) return (await import('./loadtest-chaos.ts')).runChaosCommand(argv);
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        target: { type: 'string', default: 'http://127.0.0.1:3000' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        vus: { type: 'string' },
        threshold: { type: 'string', multiple: true },
        report: { type: 'string' },
        baseline: { type: 'string' },
        'save-baseline': { type: 'string' },
        tolerance: { type: 'string' },
        workers: { type: 'string' },
        agents: { type: 'string' },
        'agents-wait': { type: 'string' },
        'admin-token': { type: 'string' },
        tag: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT_BAD_INPUT;
  }
  if (args.help || !args.scenario) {
    console.log(USAGE);
    return args.help ? 0 : EXIT_BAD_INPUT;
  }
  const config = loadConfig();
  const { loadtest } = config;
  const controller = new AbortController();
  const interrupt = (): void => controller.abort('interrupted (SIGINT)');
  process.once('SIGINT', interrupt);
  const printer = new ProgressPrinter();
  try {
    // Read the baseline first: a missing or wrong file is known before the run, not after it.
    const baseline = args.baseline ? await loadBaseline(args.baseline) : undefined;
    const result = await runLoadTest(scenarioPath(args.scenario), {
      target: args.target,
      duration: args.duration,
      rate: numberOf(args.rate, '--rate'),
      vus: numberOf(args.vus, '--vus'),
      workers: numberOf(args.workers, '--workers'),
      ...(args.agents !== undefined ? { agents: agentsOf(args.agents, args['agents-wait']) } : {}),
      thresholds: parseThresholdFlags(args.threshold ?? []),
      tags: parseTags(args.tag ?? []),
      name: args.scenario,
      signal: controller.signal,
      guardrails: loadtest,
      env: { ...process.env, TACHYON_ADMIN_TOKEN: args['admin-token'] ?? config.adminToken ?? localAdminToken(args.target, config.dataDir) },
      onProgress: (p) => printer.update(p),
    });
    printer.done();
    console.log(formatSummary(result));
    let exitCode: number = result.exitCode;
    if (args.baseline && baseline) {
      const comparison = compareWithBaseline(result, baseline, { tolerance: numberOf(args.tolerance, '--tolerance') });
      console.log(`\n${formatComparison(comparison, args.baseline)}`);
      if (!comparison.passed && exitCode === 0) exitCode = EXIT_FAILED;
    }
    if (args['save-baseline']) {
      await saveBaseline(args['save-baseline'], result);
      console.log(`baseline saved to ${args['save-baseline']}`);
    }
    if (args.report) {
      await writeJsonResults(join(args.report, 'results.json'), result);
      await writeHtmlReport(join(args.report, 'report.html'), result);
      console.log(`report: ${join(args.report, 'report.html')}`);
    }
    return exitCode;
  } catch (error) {
    printer.done();
    // Bad input and guardrail refusals are the user's to fix: a message, not a stack trace.
    if (error instanceof TachyonError && error.status < 500) {
      console.error(`tachyon loadtest: ${error.message}`);
      return EXIT_BAD_INPUT;
    }
    throw error;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/** `--agents 3` spawns three local agents; `--agents URL,URL` drives running ones with TACHYON_AGENT_TOKEN. */
function agentsOf(value: string, wait: string | undefined): number | AgentTargets {
  if (/^\d+$/.test(value)) return Number(value);
  const urls = value.split(',').map((u) => u.trim()).filter(Boolean);
  for (const url of urls) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new BadRequestError(`--agents: "${url}" is neither a number of local agents nor an agent URL (http://host:port)`);
  }
  const token = process.env.TACHYON_AGENT_TOKEN;
  if (!token) throw new BadRequestError('--agents URL,…: set TACHYON_AGENT_TOKEN to the token the agents were started with');
  return { urls, token, ...(wait !== undefined ? { waitMs: parseDuration(wait) } : {}) };
}

export function numberOf(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new BadRequestError(`${flag} must be a positive number, got "${value}"`);
  return n;
}

/** `metric{tag:value}: expression`: the key may hold colons inside its braces, so split after them. */
export function parseThresholdFlags(flags: string[]): ThresholdInput {
  const out: ThresholdInput = {};
  for (const flag of flags) {
    const match = /^\s*([^{:\s]+(?:\{[^}]*\})?)\s*:\s*(.+)$/.exec(flag);
    if (!match) throw new BadRequestError(`--threshold "${flag}": expected 'metric: expression', e.g. 'http_req_duration: p(95)<200'`);
    const [, key, expression] = match as unknown as [string, string, string];
    (out[key] ??= []).push(expression.trim());
  }
  return out;
}

export function parseTags(flags: string[]): Record<string, string> {
  return Object.fromEntries(flags.map((flag) => {
    const at = flag.indexOf('=');
    if (at < 1) throw new BadRequestError(`--tag "${flag}": expected key=value`);
    return [flag.slice(0, at), flag.slice(at + 1)];
  }));
}
