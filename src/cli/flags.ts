/**
 * `tachyon flags`: feature flags through a server's admin API (the shared state lives in its
 * database, and every instance follows a change within a second).
 *
 *   flags [list]                                   every flag: state, rollout, source
 *   flags set NAME on|off [--reason R]             switch it for everyone
 *   flags rollout NAME --percent N [--by accounts|requests] [--reason R]
 *   flags reset NAME [--reason R]                  back to TACHYON_FLAGS and its default
 *   flags history NAME                             who changed it, when, from what to what, why
 *   flags experiment NAME --percent 10 --duration 60s [--reason R] [--json]
 *       on for N% of accounts for the duration, then the previous state back; prints each cohort's
 *       latency (p50/p95/p99, requests) and whether the difference is significant (Mann-Whitney U)
 *
 * The server: --target URL (default: the running embedded server of TACHYON_DATA_DIR, else
 * http://127.0.0.1:$PORT); the token: --admin-token, TACHYON_ADMIN_TOKEN, or for a server on this
 * machine the token it keeps in its data directory.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import type { FlagState } from '../config/flags.ts';
import type { Experiment } from '../flags/experiments.ts';
import type { FlagChangeRecord } from '../flags/rollouts.ts';
import { BadRequestError, TachyonError } from '../kernel/errors.ts';
import { parseDuration } from '../loadtest/duration.ts';
import { findLocalServer, localAdminToken } from './local-server.ts';

const USAGE = `usage: tachyon flags [list]
       tachyon flags set NAME on|off [--reason R]
       tachyon flags rollout NAME --percent N [--by accounts|requests] [--reason R]
       tachyon flags reset NAME [--reason R]
       tachyon flags history NAME
       tachyon flags experiment NAME --percent 10 --duration 60s [--reason R] [--json]
options: --target URL (default: the local server), --admin-token TOKEN (default: TACHYON_ADMIN_TOKEN)`;

type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      'admin-token': { type: 'string' },
      percent: { type: 'string' },
      by: { type: 'string' },
      duration: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command = 'list', name, value] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const call = client(values.target, values['admin-token']);
  const reason = values.reason ?? '';
  const flagPath = (n: string | undefined) => `/api/admin/flags/${encodeURIComponent(required(n, 'NAME'))}`;
  switch (command) {
    case 'list': {
      const { flags } = await call<{ flags: FlagState[] }>('GET', '/api/admin/flags');
      const width = Math.max(...flags.map((f) => f.name.length));
      for (const f of flags) console.log(`${f.name.padEnd(width)}  ${describe(f.rollout).padEnd(16)} ${f.source.padEnd(8)} ${f.description}`);
      return 0;
    }
    case 'set': {
      if (value !== 'on' && value !== 'off') throw new BadRequestError(`flags set NAME on|off: got "${value ?? ''}"`);
      return print(await call('PUT', flagPath(name), { enabled: value === 'on', reason }));
    }
    case 'rollout': {
      const by = values.by ?? 'accounts';
      if (by !== 'accounts' && by !== 'requests') throw new BadRequestError(`--by takes accounts or requests, got "${by}"`);
      return print(await call('PUT', flagPath(name), { mode: by, percent: percentOf(values.percent), reason }));
    }
    case 'reset':
      return print(await call('DELETE', `${flagPath(name)}?reason=${encodeURIComponent(reason)}`));
    case 'history': {
      const { changes } = await call<{ changes: FlagChangeRecord[] }>('GET', `${flagPath(name)}/history`);
      if (changes.length === 0) console.log('no changes recorded: the flag follows its configuration');
      for (const c of changes) console.log(`${c.at}  ${c.actor}  ${c.old ? describe(c.old) : 'config'} → ${c.new ? describe(c.new) : 'config'}${c.reason ? `  (${c.reason})` : ''}`);
      return 0;
    }
    case 'experiment':
      return experiment(call, required(name, 'NAME'), { percent: percentOf(values.percent), durationMs: Math.round(parseDuration(required(values.duration, '--duration'))), reason, json: values.json === true });
    default:
      console.error(`tachyon flags: unknown subcommand "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function experiment(call: Call, name: string, options: { percent: number; durationMs: number; reason: string; json: boolean }): Promise<number> {
  let current = await call<Experiment>('POST', `/api/admin/flags/${encodeURIComponent(name)}/experiments`, { percent: options.percent, durationMs: options.durationMs, reason: options.reason });
  const path = `/api/admin/flag-experiments/${current.id}`;
  console.error(`experiment ${current.id}: ${name} on for ${options.percent}% of accounts until ${current.endsAt}; Ctrl-C ends it early (the previous state comes back either way)`);
  let interrupted = false;
  const interrupt = () => (interrupted = true);
  process.once('SIGINT', interrupt);
  try {
    while (!current.result) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      current = await call<Experiment>(interrupted && current.status === 'running' ? 'DELETE' : 'GET', path);
    }
  } finally {
    process.off('SIGINT', interrupt);
  }
  if (options.json) {
    console.log(JSON.stringify(current, null, 2));
    return 0;
  }
  const r = current.result;
  const row = (label: string, c: { count: number; p50: number; p95: number; p99: number; mean: number }) =>
    `${label.padEnd(18)} ${String(c.count).padStart(9)} ${ms(c.p50)} ${ms(c.p95)} ${ms(c.p99)} ${ms(c.mean)}`;
  console.log(`experiment ${current.id} on ${name} (${current.status}; ${r.instances} instance${r.instances === 1 ? '' : 's'} measured)`);
  console.log(`${'cohort'.padEnd(18)} ${'requests'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'mean ms'.padStart(9)}`);
  console.log(row(`on (${current.percent}%)`, r.on));
  console.log(row('off (the rest)', r.off));
  console.log(`${'on ÷ off'.padEnd(28)} ${ratio(r.ratio.p50)} ${ratio(r.ratio.p95)} ${ratio(r.ratio.p99)}`);
  console.log(`${r.test.name}: z = ${r.test.z.toFixed(2)}, p = ${r.test.pValue.toPrecision(3)}`);
  console.log(`verdict: ${r.summary}`);
  console.log(`the flag is back to ${current.previous ? describe(current.previous) : 'its configuration'}`);
  return 0;
}

function client(target: string | undefined, adminToken: string | undefined): Call {
  const config = loadConfig();
  const local = target ? undefined : findLocalServer(config);
  const url = target ?? local?.url ?? `http://127.0.0.1:${config.port}`;
  const token = adminToken ?? config.adminToken ?? local?.token ?? localAdminToken(url, config.dataDir);
  if (!token) throw new BadRequestError(`no admin token for ${url}: pass --admin-token or set TACHYON_ADMIN_TOKEN`);
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, url), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new TachyonError(503, 'unreachable', `${url} does not answer (${(error as Error).message}): is the server running? (--target URL)`);
    }
    const payload = (await response.json().catch(() => ({}))) as T & { detail?: string; code?: string };
    if (!response.ok) throw new TachyonError(response.status, payload.code ?? 'error', payload.detail ?? `${method} ${path} answered ${response.status}`);
    return payload;
  };
}

function print(state: unknown): number {
  const s = state as { name: string; rollout: FlagState['rollout']; source: string };
  console.log(`${s.name}: ${describe(s.rollout)} (${s.source}; every instance follows within a second)`);
  return 0;
}

function describe(rollout: FlagState['rollout']): string {
  if (rollout.mode === 'on' || rollout.mode === 'off') return rollout.mode;
  return `${rollout.percent}% of ${rollout.mode}${rollout.experiment ? ` (experiment ${rollout.experiment})` : ''}`;
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new BadRequestError(`${what} is required\n\n${USAGE}`);
  return value;
}

function percentOf(value: string | undefined): number {
  const n = Number(required(value, '--percent')?.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new BadRequestError(`--percent takes 0–100, got "${value}"`);
  return n;
}

const ms = (v: number) => v.toFixed(2).padStart(9);
const ratio = (v: number) => v.toFixed(2).padStart(9);
