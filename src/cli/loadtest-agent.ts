/**
 * `tachyon loadtest agent`: serves a coordinator (`tachyon loadtest --agents URL,…`) until stopped.
 * Prints "listening on URL" once ready (local coordinators read it), keeps running (returns -1).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { BadRequestError } from '../kernel/errors.ts';
import { MIN_TOKEN_LENGTH, startAgent } from '../loadtest/distributed/agent.ts';
import { DEFAULT_GUARDRAILS } from '../loadtest/guardrails.ts';

const USAGE = `usage: tachyon loadtest agent [--host 127.0.0.1] [--port 6565] [--workers 1] [--once]

  Runs a share of a distributed load test for a coordinator (tachyon loadtest --agents URL,…).
  TACHYON_AGENT_TOKEN   shared token (≥ ${MIN_TOKEN_LENGTH} characters) the coordinator must send
  --host H              listen address (default 127.0.0.1; 0.0.0.0 for other machines)
  --port P              listen port (default 6565; 0 picks a free one)
  --workers N           load-generating threads (the agent's share grows with them)
  --once                exit after one run (Kubernetes Job pods)
  --attached            exit when stdin closes (agents a local coordinator spawned)

Its own guardrails apply to every run: TACHYON_LOADTEST_ALLOWED_HOSTS, _MAX_DURATION, _MAX_RATE.`;

export async function run(argv: string[]): Promise<number> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '6565' },
      workers: { type: 'string', default: '1' },
      once: { type: 'boolean', default: false },
      attached: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(args.port);
  const workers = Number(args.workers);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new BadRequestError(`--port must be 0–65535, got "${args.port}"`);
  if (!Number.isInteger(workers) || workers < 1 || workers > DEFAULT_GUARDRAILS.maxWorkers) throw new BadRequestError(`--workers must be 1–${DEFAULT_GUARDRAILS.maxWorkers}, got "${args.workers}"`);
  const token = process.env.TACHYON_AGENT_TOKEN;
  if (!token) throw new BadRequestError(`set TACHYON_AGENT_TOKEN (≥ ${MIN_TOKEN_LENGTH} characters) to the token the coordinator will send`);

  const config = loadConfig();
  let leaving = false;
  const leave = (code: number): void => {
    if (leaving) return;
    leaving = true;
    void starting.then((a) => a.close()).finally(() => process.exit(code));
  };
  const starting = startAgent({
    token,
    host: args.host,
    port,
    workers,
    guardrails: { ...DEFAULT_GUARDRAILS, ...config.loadtest },
    ...(args.once ? { onRunDone: () => leave(0) } : {}),
  });
  const agent = await starting;
  if (!['127.0.0.1', '::1', 'localhost'].includes(args.host)) {
    console.error(`tachyon loadtest agent: listening on ${args.host}: whoever can reach this port and holds the token can make it send load (to the allowed hosts: ${config.loadtest.allowedHosts.join(', ')})`);
  }
  console.log(`tachyon loadtest agent listening on ${agent.url} (workers ${workers})`);
  process.once('SIGTERM', () => leave(0));
  process.once('SIGINT', () => leave(0));
  if (args.attached) {
    process.stdin.on('end', () => leave(0)).on('close', () => leave(0)).resume();
  }
  return -1;
}
