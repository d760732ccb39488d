/**
 * Auto-scaling on one machine (`tachyon cluster --autoscale`'s parts: LocalCluster, the Autoscaler,
 * HAProxy): one instance, WebSocket clients past the target (a load the benchmark sets exactly), and
 * a steady closed loop of GETs through HAProxy that names the instance answering each one. Measures
 * the time from crossing the target to the new instance serving traffic (reference in the same run:
 * the time one instance takes to start and become ready), the time to drain and stop on scale-down,
 * failed requests during each, and the spread of requests across the two instances once the
 * clients left (before the scale-down's stabilization window ends).
 * Writes bench/results/scaling.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { LocalCluster } from '../src/cluster/local-cluster.ts';
import { openServer } from '../src/db/pg.ts';
import { Autoscaler } from '../src/scaling/autoscaler.ts';
import { DEFAULT_SCALING_CONFIG } from '../src/scaling/hpa.ts';
import { readInstanceSample } from '../src/scaling/instance-metrics.ts';
import { ScalingStore } from '../src/scaling/store.ts';
import { createTempDatabase, deleteRedisKeys, pgAvailable, REDIS_TEST_URL, redisAvailable, redisPrefix } from '../test/support/servers.ts';
import { BENCH_ADMIN_TOKEN, BENCH_DEMO_TOKEN, clusterBenchEnv, freePort } from './support/processes.ts';
import { printTable, writeResults, type Headline } from './support/results.ts';

const INTERVAL_MS = 1_000;
const CONNECTIONS = 12;
const TARGET = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GETs /api/health/ready through HAProxy in a closed loop; each answer names its instance. */
class Probe {
  readonly answers: Array<{ at: number; instance: string | undefined; ok: boolean }> = [];
  private running = true;
  private readonly loops: Promise<void>[];
  constructor(url: string, concurrency: number) {
    this.loops = Array.from({ length: concurrency }, async () => {
      while (this.running) {
        try {
          const response = await fetch(`${url}/api/health/ready`, { signal: AbortSignal.timeout(15_000) });
          const body = (await response.json()) as { instance?: string };
          this.answers.push({ at: performance.now(), instance: body.instance, ok: response.status < 500 });
        } catch {
          this.answers.push({ at: performance.now(), instance: undefined, ok: false });
        }
      }
    });
  }
  failedBetween(from: number, to: number): number {
    return this.answers.filter((a) => a.at >= from && a.at <= to && !a.ok).length;
  }
  async firstAnswerFromAnotherThan(instances: Set<string>, after: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.answers.find((a) => a.at > after && a.ok && a.instance !== undefined && !instances.has(a.instance));
      if (found) return found.at;
      if (performance.now() > deadline) throw new Error('the new instance served nothing');
      await sleep(20);
    }
  }
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

if (!(await pgAvailable()) || !(await redisAvailable())) {
  console.error('bench:scaling needs a PostgreSQL server and Redis (TACHYON_TEST_PG_URL, TACHYON_TEST_REDIS_URL) and haproxy');
  process.exit(1);
}
const loadBefore = loadavg()[0]!;
const database = await createTempDatabase('bench_scaling');
const runDir = mkdtempSync(join(tmpdir(), 'tachyon-bench-scaling-'));
const prefix = redisPrefix('bench-scaling');
const env = clusterBenchEnv(database.url, REDIS_TEST_URL, prefix, { TACHYON_DRAIN_DELAY_MS: '2000' });
const cluster = await LocalCluster.start({ instances: 1, host: '127.0.0.1', port: await freePort(), statsPort: await freePort(), basePort: await freePort(), runDir, env, slots: 3 });
const db = await openServer({ url: database.url, poolSize: 2 });
const store = new ScalingStore(db);
try {
  // Reference: one instance started and ready, then removed (what a scale-up cannot beat).
  const refStart = performance.now();
  const extra = await cluster.addInstance();
  const reference = performance.now() - refStart;
  await cluster.removeInstance(extra.name);

  await store.saveConfig({
    ...DEFAULT_SCALING_CONFIG,
    maxInstances: 2,
    targets: { websocketConnections: TARGET },
    scaleDown: { stabilizationWindowMs: 5_000, selectPolicy: 'Max', cooldownMs: 0, policies: [{ type: 'percent', value: 100, periodMs: 15_000 }] },
  });
  const autoscaler = new Autoscaler({ pool: cluster, store, intervalMs: INTERVAL_MS, read: (i) => readInstanceSample(i.url, BENCH_ADMIN_TOKEN) });
  autoscaler.start();
  const probe = new Probe(cluster.url, 4);
  await sleep(3_000);
  const before = new Set(probe.answers.map((a) => a.instance).filter((i): i is string => i !== undefined));

  const wsUrl = cluster.url.replace(/^http/, 'ws') + '/ws';
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${BENCH_DEMO_TOKEN}` } });
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    })),
  );
  const crossed = performance.now();
  const serving = await probe.firstAnswerFromAnotherThan(before, crossed, 120_000);
  await sleep(3_000);
  for (const socket of sockets) socket.close();
  const gone = performance.now();
  for (;;) {
    if ((await store.history(10)).some((e) => e.from === 2 && e.to === 1)) break;
    if (performance.now() - gone > 120_000) throw new Error('no scale-down');
    await sleep(100);
  }
  const stopped = performance.now();
  // Spread while both instances serve at full weight (the new one's 2 s slow start is over): in the
  // scale-down stabilization window, 0.5–4.5 s after the clients left.
  const steady = probe.answers.filter((a) => a.at > gone + 500 && a.at <= gone + 4_500 && a.ok);
  const perInstance = new Map<string, number>();
  for (const a of steady) perInstance.set(a.instance!, (perInstance.get(a.instance!) ?? 0) + 1);
  const counts = [...perInstance.values()];
  const spread = counts.length > 1 ? (Math.max(...counts) - Math.min(...counts)) / (counts.reduce((x, y) => x + y, 0) / counts.length) : NaN;
  await sleep(1_000);
  await probe.stop();
  await autoscaler.stop();
  const events = await store.history(10);
  const up = events.find((e) => e.to === 2)!;
  const down = events.find((e) => e.from === 2 && e.to === 1)!;

  const figures = {
    reference: { name: 'one instance started until ready (LocalCluster.addInstance), same run', ms: Math.round(reference) },
    scaleUp: { crossingToServingMs: Math.round(serving - crossed), autoscalerEventMs: up.durationMs, failedRequests: probe.failedBetween(crossed, serving + 1_000) },
    scaleDown: {
      loadGoneToStoppedMs: Math.round(stopped - gone),
      stabilizationWindowMs: 5_000,
      drainAndStopMs: down.durationMs,
      failedRequests: probe.failedBetween(gone, stopped + 1_000),
    },
    spread: { requestsPerInstance: Object.fromEntries(perInstance), maxMinusMinOverMean: spread },
    requests: probe.answers.length,
    evaluationIntervalMs: INTERVAL_MS,
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
    headline: {
      subject: 'autoscaler scale-up: target crossed → new instance serving',
      reference: 'one instance started until ready (same run)',
      figures: [{ name: 'time to serve', unit: 'ms', better: 'lower', value: Math.round(serving - crossed), reference: Math.round(reference) }],
    } satisfies Headline,
  };
  printTable([
    { what: 'reference: start one instance until ready', ms: figures.reference.ms, failed: '' },
    { what: 'scale-up: target crossed → new instance serving', ms: figures.scaleUp.crossingToServingMs, failed: figures.scaleUp.failedRequests },
    { what: 'scale-down: drain and stop (after the 5 s window)', ms: figures.scaleDown.drainAndStopMs, failed: figures.scaleDown.failedRequests },
  ]);
  console.log(`spread at 2 instances: ${JSON.stringify(figures.spread.requestsPerInstance)} ((max − min) / mean ${(spread * 100).toFixed(1)}%)`);
  console.log(`load average ${figures.loadAverage.before.toFixed(1)} before, ${figures.loadAverage.after.toFixed(1)} after (2 cores: above 2, a smoke run)`);
  console.log(`wrote ${writeResults('scaling', figures)}`);
} finally {
  await db.close();
  await cluster.stop();
  rmSync(runDir, { recursive: true, force: true });
  await database.drop();
  await deleteRedisKeys(prefix);
}
