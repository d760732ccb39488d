/**
 * Rollout overhead: a steady closed-loop load (quote reads and market orders, one account per loop)
 * through HAProxy to a 2-instance `tachyon cluster` (LocalCluster), first with no rollout (the
 * reference), then during a canary of the same build with the default steps (5 → 25 → 50 → 100%,
 * analysed, promoted) and a blue-green switch and switch-back, in the same run. Per phase: requests,
 * failed requests (network errors and 5xx: aim 0), p50/p99 from an HDR histogram, and p99 against the
 * reference. Every process shares the machine's cores with the load generator.
 * BENCH_SECONDS: reference length and analysis window per canary step (default 10).
 * Writes bench/results/rollout.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { LocalCluster } from '../src/cluster/local-cluster.ts';
import { openServer } from '../src/db/pg.ts';
import { createHistogram, recordMs, type Histogram } from '../src/kernel/histogram.ts';
import { DEFAULT_ANALYSIS } from '../src/rollout/analysis.ts';
import { ClusterRolloutPool } from '../src/rollout/cluster-pool.ts';
import { RolloutController } from '../src/rollout/controller.ts';
import { DEFAULT_STEPS, rolloutSpec } from '../src/rollout/routes.ts';
import { RolloutStore } from '../src/rollout/store.ts';
import { createTempDatabase, deleteRedisKeys, REDIS_TEST_URL, redisPrefix } from '../test/support/servers.ts';
import { BENCH_ADMIN_TOKEN, clusterBenchEnv, freePort } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

interface Phase {
  name: string;
  requests: number;
  failed: number;
  latency: Histogram;
}

/** The load: each loop reads a quote then sends a market order; results go to whichever phase is current. */
class Load {
  phase: Phase = newPhase('warm-up');
  readonly phases: Phase[] = [];
  private running = true;
  private loops: Promise<void>[] = [];

  static async start(url: string): Promise<Load> {
    const http = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
    const tokens: string[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const res = await http.request({ path: '/api/admin/users', method: 'POST', headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `rollout-bench-${i}`, role: 'trader', openingCash: 100_000_000 }) });
      tokens.push(((await res.body.json()) as { token: string }).token);
    }
    const load = new Load();
    load.loops = tokens.map((token, i) => load.loop(http, token, i));
    return load;
  }

  enter(name: string): void {
    this.phase = newPhase(name);
    this.phases.push(this.phase);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(http: Pool, token: string, worker: number): Promise<void> {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const order = JSON.stringify({ symbol: 'AAPL', side: worker % 2 === 0 ? 'buy' : 'sell', type: 'market', quantity: 1 });
    for (let i = 0; this.running; i++) {
      const phase = this.phase;
      const t0 = performance.now();
      let ok = false;
      try {
        const res = i % 2 === 0 ? await http.request({ path: '/api/market-data/quotes/AAPL', method: 'GET', headers }) : await http.request({ path: '/api/orders', method: 'POST', headers, body: order });
        await res.body.dump();
        ok = res.statusCode < 500;
      } catch {
        ok = false;
      }
      // A request counts in the phase it started in.
      phase.requests++;
      if (ok) recordMs(phase.latency, performance.now() - t0);
      else phase.failed++;
    }
  }
}

function newPhase(name: string): Phase {
  return { name, requests: 0, failed: 0, latency: createHistogram() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const database = await createTempDatabase('bench_rollout');
  const runDir = mkdtempSync(join(tmpdir(), 'tachyon-bench-rollout-'));
  const prefix = redisPrefix('bench-rollout');
  const cluster = await LocalCluster.start({
    instances: 2,
    host: '127.0.0.1',
    port: await freePort(),
    statsPort: await freePort(),
    basePort: await freePort(),
    runDir,
    env: clusterBenchEnv(database.url, REDIS_TEST_URL, prefix, { TACHYON_RISK_MAX_ORDERS_PER_SECOND: '1000000' }),
  });
  const db = await openServer({ url: database.url, poolSize: 2, applicationName: 'bench-rollout' });
  const store = new RolloutStore(db);
  const controller = new RolloutController({ store, pool: new ClusterRolloutPool(cluster), metricsToken: BENCH_ADMIN_TOKEN, url: cluster.url, log: (line) => console.log(line) });
  await controller.start();
  const load = await Load.start(cluster.url);
  try {
    await sleep(3_000);
    load.enter('reference (no rollout)');
    await sleep(SECONDS * 1000);

    // The phase follows the rollout's status and share, polled every 100 ms.
    const follow = async (id: number, name: (status: string, share: number) => string, until: (status: string) => boolean) => {
      let current = '';
      for (;;) {
        const r = await store.get(id);
        const phase = name(r.status, r.share);
        if (phase !== current) load.enter((current = phase));
        if (until(r.status)) return r;
        await sleep(100);
      }
    };
    const spec = rolloutSpec({ strategy: 'canary', version: { env: {}, label: 'same build' }, steps: DEFAULT_STEPS, stepSeconds: SECONDS, warmupSeconds: SECONDS, maxWindows: 3, canaryInstances: 1, analysis: DEFAULT_ANALYSIS });
    const canary = await store.create('canary', spec, 'bench');
    const canaryDone = await follow(canary.id, (status, share) => (status === 'progressing' ? `canary ${share}%` : `canary ${status}`), (s) => s === 'promoted' || s === 'rolled-back' || s === 'failed');
    load.enter('after canary');
    await sleep(3_000);

    const blueGreen = await store.create('blue-green', { ...spec, version: { env: {}, label: 'same build' } }, 'bench');
    await follow(blueGreen.id, (status) => `blue-green ${status}`, (s) => s === 'switched');
    await sleep(SECONDS * 1000);
    await store.requestAction(blueGreen.id, 'abort', 'bench');
    const blueGreenDone = await follow(blueGreen.id, (status) => `blue-green ${status === 'switched' ? 'switching back' : status}`, (s) => s === 'rolled-back' || s === 'failed');
    load.enter('after switch-back');
    await sleep(3_000);
    load.enter('end');
    await load.stop();

    const reference = load.phases[0]!;
    const p = (phase: Phase, q: number) => phase.latency.getValueAtPercentile(q) / 1000;
    const rows = load.phases
      .filter((ph) => ph.name !== 'end' && ph.requests > 0)
      .map((ph) => ({
        phase: ph.name,
        requests: ph.requests,
        failed: ph.failed,
        'p50 ms': p(ph, 50).toFixed(2),
        'p99 ms': p(ph, 99).toFixed(2),
        'p99 / reference': (p(ph, 99) / p(reference, 99)).toFixed(2),
      }));
    printTable(rows);
    const load1 = loadavg()[0]!;
    console.log(`canary: ${canaryDone.status} (${canaryDone.reason}); blue-green: ${blueGreenDone.status} (${blueGreenDone.reason})`);
    console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${CONCURRENCY} loops, quote reads and market orders alternating`);
    const file = writeResults('rollout', {
      concurrency: CONCURRENCY,
      stepSeconds: SECONDS,
      loadAverage: load1,
      canary: { status: canaryDone.status, reason: canaryDone.reason, steps: canaryDone.steps.map((s) => ({ share: s.share, outcome: s.outcome, canaryRequests: s.analysis?.canaryRequests, stableRequests: s.analysis?.stableRequests })) },
      blueGreen: { status: blueGreenDone.status, reason: blueGreenDone.reason },
      phases: load.phases
        .filter((ph) => ph.requests > 0 && ph.name !== 'end')
        .map((ph) => ({ phase: ph.name, requests: ph.requests, failed: ph.failed, p50Ms: p(ph, 50), p99Ms: p(ph, 99), p99VsReference: p(ph, 99) / p(reference, 99) })),
      headline: headlineOf(load.phases.filter((ph) => ph !== reference && ph.name !== 'end' && ph.requests > 0), reference, p),
    });
    console.log(`wrote ${file}`);
  } finally {
    await load.stop();
    await controller.stop();
    await db.close();
    await cluster.stop();
    rmSync(runDir, { recursive: true, force: true });
    await database.drop();
    await deleteRedisKeys(prefix);
  }
}

await main();

/** The rollout phase with the worst p99 against the steady phase before any rollout. */
function headlineOf(phases: readonly Phase[], reference: Phase, p: (phase: Phase, q: number) => number): Headline | undefined {
  const worst = [...phases].sort((a, b) => p(b, 99) - p(a, 99))[0];
  if (!worst) return undefined;
  return {
    subject: `traffic during the rollout, worst phase (${worst.name})`,
    reference: `${reference.name} (same run, before any rollout)`,
    latencyMs: { value: { p50: p(worst, 50), p99: p(worst, 99) }, reference: { p50: p(reference, 50), p99: p(reference, 99) } },
  };
}
