/**
 * `tachyon rollout start|status|promote|abort|history`: the rollout API of a running `tachyon cluster`
 * (any instance, or the cluster's URL). `start --watch` and `status --watch` follow a rollout to its end
 * and exit 0 when it was promoted, 1 when it was rolled back or failed (a pipeline can gate on it).
 */
import { parseArgs } from 'node:util';
import { BadRequestError, TachyonError } from '../kernel/errors.ts';
import type { Rollout } from '../rollout/types.ts';

const USAGE = `usage: tachyon rollout <start|status|promote|abort|history> [options]
  start    [--strategy canary|blue-green] [--dir PATH] [--env NAME=VALUE]… [--label TEXT]
           [--steps 5,25,50,100] [--step-seconds 60] [--warmup-seconds 30] [--max-windows 3] [--min-requests 100]
           [--canary-instances 1] [--watch]
  status   [ID] [--watch]          (the latest rollout without ID)
  promote  ID                      (canary: skip the remaining steps; blue-green: stop the old set)
  abort    ID                      (all traffic back to the stable instances)
  history  [--limit 20]
  every command: --target URL (default http://127.0.0.1:$PORT) --admin-token TOKEN (default TACHYON_ADMIN_TOKEN)`;

interface Client {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

function client(target: string, token: string): Client {
  return {
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      let response: Response;
      try {
        response = await fetch(new URL(`/api/performance/rollouts${path}`, target), {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        throw new TachyonError(503, 'unreachable', `${target} does not answer: ${(error as Error).message}`);
      }
      const payload = (await response.json().catch(() => ({}))) as T & { detail?: string; code?: string };
      if (!response.ok) throw new TachyonError(response.status < 500 ? 400 : response.status, payload.code ?? 'error', payload.detail ?? `${method} ${path} answered ${response.status}`);
      return payload;
    },
  };
}

const share = (canary: number, stable: number) => (canary + stable === 0 ? 'no traffic' : `${((100 * canary) / (canary + stable)).toFixed(1)}%`);

/** A rollout in a few lines: status, share, each step with its verdict and numbers, the reason. */
export function describeRollout(r: Rollout): string {
  const lines = [`rollout ${r.id} (${r.strategy}${r.spec.version.label ? ` of ${r.spec.version.label}` : ''}): ${r.status}, ${r.share}% of traffic on the new version`];
  for (const step of r.steps) {
    const a = step.analysis;
    lines.push(`  step ${step.share}%: ${step.outcome}${a ? ` (${a.verdict} after ${step.windows} window(s): ${a.canaryRequests} canary, ${a.stableRequests} stable requests: ${share(a.canaryRequests, a.stableRequests)} observed)` : ''}`);
    for (const m of a?.metrics ?? []) lines.push(`    ${m.passed ? 'ok  ' : 'FAIL'} ${m.detail}`);
  }
  if (r.instances.length > 0 && r.finishedAt === null) lines.push(`  new instances: ${r.instances.map((i) => `${i.name} ${i.url}`).join(', ')}`);
  if (r.reason) lines.push(`  ${r.status === 'promoted' ? 'promoted' : 'reason'}: ${r.reason}`);
  return lines.join('\n');
}

async function watch(api: Client, id: number): Promise<number> {
  let last = '';
  for (;;) {
    const rollout = await api.call<Rollout>('GET', `/${id}`);
    const text = describeRollout(rollout);
    if (text !== last) console.log(text);
    last = text;
    if (rollout.finishedAt !== null) return rollout.status === 'promoted' ? 0 : 1;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      'admin-token': { type: 'string' },
      strategy: { type: 'string', default: 'canary' },
      dir: { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      label: { type: 'string' },
      steps: { type: 'string' },
      'step-seconds': { type: 'string' },
      'canary-instances': { type: 'string' },
      'max-windows': { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'min-requests': { type: 'string' },
      limit: { type: 'string', default: '20' },
      watch: { type: 'boolean', default: false },
    },
  });
  const [command, idText] = positionals;
  const token = values['admin-token'] ?? process.env.TACHYON_ADMIN_TOKEN;
  if (!command || !['start', 'status', 'promote', 'abort', 'history'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  if (!token) throw new BadRequestError('pass --admin-token or set TACHYON_ADMIN_TOKEN (`tachyon cluster` prints the admin token)');
  const api = client(values.target ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`, token);
  const id = idText === undefined ? undefined : Number(idText);
  if (id !== undefined && !(Number.isInteger(id) && id > 0)) throw new BadRequestError(`"${idText}" is not a rollout id`);

  if (command === 'start') {
    const env = Object.fromEntries(
      values.env.map((pair) => {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new BadRequestError(`--env ${pair}: expected NAME=VALUE`);
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    );
    const int = (name: string, text: string | undefined) => {
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!Number.isInteger(n)) throw new BadRequestError(`--${name} ${text}: expected an integer`);
      return n;
    };
    const body = {
      strategy: values.strategy,
      version: { env, ...(values.dir ? { dir: values.dir } : {}), ...(values.label ? { label: values.label } : {}) },
      ...(values.steps ? { steps: values.steps.split(',').map((s) => int('steps', s.trim())) } : {}),
      ...(values['step-seconds'] ? { stepSeconds: int('step-seconds', values['step-seconds']) } : {}),
      ...(values['canary-instances'] ? { canaryInstances: int('canary-instances', values['canary-instances']) } : {}),
      ...(values['warmup-seconds'] ? { warmupSeconds: int('warmup-seconds', values['warmup-seconds']) } : {}),
      ...(values['max-windows'] ? { maxWindows: int('max-windows', values['max-windows']) } : {}),
      ...(values['min-requests'] ? { analysis: { minRequests: int('min-requests', values['min-requests']) } } : {}),
    };
    const rollout = await api.call<Rollout & { stable: Array<{ name: string }> }>('POST', '', body);
    console.log(`rollout ${rollout.id} (${rollout.strategy}) started; stable instances: ${rollout.stable.map((s) => s.name).join(', ')}`);
    return values.watch ? watch(api, rollout.id) : 0;
  }
  if (command === 'history') {
    const { rollouts, controller } = await api.call<{ rollouts: Rollout[]; controller: unknown }>('GET', `?limit=${Number(values.limit)}`);
    if (!controller) console.log('(no rollout controller runs now: start the cluster with `tachyon cluster`)');
    for (const r of rollouts) console.log(`${r.id}\t${r.createdAt}\t${r.strategy}\t${r.status}\t${r.spec.version.label ?? r.spec.version.dir ?? '(this installation)'}\t${r.reason ?? ''}`);
    return 0;
  }
  if (command === 'status') {
    const target = id ?? (await api.call<{ rollouts: Rollout[] }>('GET', '?limit=1')).rollouts[0]?.id;
    if (target === undefined) {
      console.log('no rollout yet');
      return 0;
    }
    if (values.watch) return watch(api, target);
    console.log(describeRollout(await api.call<Rollout>('GET', `/${target}`)));
    return 0;
  }
  if (id === undefined) throw new BadRequestError(`tachyon rollout ${command} needs the rollout id`);
  await api.call('POST', `/${id}/${command}`);
  console.log(`${command} of rollout ${id} requested; the controller acts within a second (tachyon rollout status ${id} --watch)`);
  return 0;
}
