/**
 * `tachyon cluster --instances N`: N instances of this installation behind HAProxy on one machine,
 * one URL, instances restarted when they die, everything stopped (instances drained first) on
 * SIGTERM/SIGINT. Needs a PostgreSQL server and Redis: instances share accounts, the feed and the
 * cache through them. With --autoscale, the autoscaler (src/scaling/autoscaler.ts) adds and drains
 * instances within the scaling configuration stored in the database (the scaling API sets it).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HAPROXY, LocalCluster } from '../cluster/local-cluster.ts';
import { openServer } from '../db/pg.ts';
import { ClusterRolloutPool } from '../rollout/cluster-pool.ts';
import { RolloutController } from '../rollout/controller.ts';
import { RolloutStore } from '../rollout/store.ts';
import { Autoscaler } from '../scaling/autoscaler.ts';
import { readInstanceSample } from '../scaling/instance-metrics.ts';
import { ScalingStore } from '../scaling/store.ts';

const USAGE = 'usage: tachyon cluster --instances N [--port 3000] [--stats-port PORT+1] [--base-port PORT+10] [--run-dir DIR] [--autoscale [--autoscale-interval SECONDS]]';
/** The most local instances: HAProxy lists one server slot per possible instance under --autoscale. */
const MAX_LOCAL_INSTANCES = 64;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        instances: { type: 'string', default: '2' },
        port: { type: 'string' },
        'stats-port': { type: 'string' },
        'base-port': { type: 'string' },
        'run-dir': { type: 'string' },
        autoscale: { type: 'boolean', default: false },
        // HPA's default sync period.
        'autoscale-interval': { type: 'string', default: '15' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const instances = Number(values.instances);
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  const statsPort = Number(values['stats-port'] ?? port + 1);
  const basePort = Number(values['base-port'] ?? port + 10);
  const intervalMs = Number(values['autoscale-interval']) * 1000;
  if (![instances, port, statsPort, basePort].every((n) => Number.isInteger(n) && n > 0 && n < 65536) || instances > MAX_LOCAL_INSTANCES || !(intervalMs >= 500 && intervalMs <= 600_000)) {
    console.error(USAGE);
    return 2;
  }
  const missing = ['DATABASE_URL', 'REDIS_URL'].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    console.error(`tachyon cluster needs ${missing.join(' and ')}: instances share accounts, the market feed and the cache through PostgreSQL and Redis (see README, "Scaling out").`);
    return 2;
  }
  if (spawnSync(HAPROXY, ['-v']).status !== 0) {
    console.error('tachyon cluster needs HAProxy on the PATH (Debian/Ubuntu: apt-get install haproxy).');
    return 2;
  }
  const runDir = resolve(values['run-dir'] ?? join(process.env.TACHYON_DATA_DIR ?? './data', 'cluster'));
  mkdirSync(runDir, { recursive: true });
  // Every instance must accept the same demo credentials (each would otherwise rotate the others').
  const env = {
    ...process.env,
    TACHYON_DEMO_TOKEN: process.env.TACHYON_DEMO_TOKEN ?? randomBytes(24).toString('base64url'),
    TACHYON_ADMIN_TOKEN: process.env.TACHYON_ADMIN_TOKEN ?? randomBytes(24).toString('base64url'),
  };
  console.log(`starting ${instances} instances behind HAProxy (logs and haproxy.cfg in ${runDir})…`);
  const cluster = await LocalCluster.start({
    instances,
    host: process.env.HOST ?? '0.0.0.0',
    port,
    statsPort,
    basePort,
    runDir,
    env,
    slots: values.autoscale ? MAX_LOCAL_INSTANCES : instances,
    report: (e) => {
      if (e.event !== 'started') console.log(`[cluster] ${e.name} ${e.event}${e.pid ? ` (pid ${e.pid})` : ''}${e.code !== undefined ? ` code=${e.code}` : ''}${e.signal ? ` signal=${e.signal}` : ''}${e.delayMs !== undefined ? ` in ${e.delayMs} ms` : ''}`);
    },
  });
  console.log(
    [
      '',
      `Tachyon cluster: ${instances} instances behind HAProxy`,
      `  URL         ${cluster.url}`,
      `  HAProxy     ${cluster.statsUrl} (runtime API: ${cluster.socketPath})`,
      `  Demo trader token: ${env.TACHYON_DEMO_TOKEN}`,
      `  Admin token:       ${env.TACHYON_ADMIN_TOKEN}`,
      '',
    ].join('\n'),
  );

  // The autoscaler meets the instances' scaling API in the database (the first instance has migrated it by now).
  const db = await openServer({ url: process.env.DATABASE_URL!, poolSize: 2, applicationName: values.autoscale ? 'tachyon-autoscaler' : 'tachyon-cluster' });
  const autoscaler =
    values.autoscale &&
    new Autoscaler({
      pool: cluster,
      store: new ScalingStore(db),
      intervalMs,
      read: (instance) => readInstanceSample(instance.url, env.TACHYON_ADMIN_TOKEN),
      log: (line) => console.log(line),
    });
  if (autoscaler) {
    autoscaler.start();
    console.log(`[cluster] autoscaling every ${intervalMs / 1000} s (up to ${MAX_LOCAL_INSTANCES} instances; configuration and history: /api/performance/scaling)`);
  }

  // ---- rollouts: canary and blue-green releases through the API (src/rollout); not beside the autoscaler,
  // which would start the old version in the slots a promotion empties.
  const rollouts = values.autoscale
    ? undefined
    : new RolloutController({
        store: new RolloutStore(db),
        pool: new ClusterRolloutPool(cluster, { log: (line) => console.log(line) }),
        metricsToken: process.env.METRICS_TOKEN ?? env.TACHYON_ADMIN_TOKEN,
        url: cluster.url,
        log: (line) => console.log(line),
      });
  await rollouts?.start();
  if (rollouts) console.log('[cluster] rollouts: `tachyon rollout start` or POST /api/performance/rollouts');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[cluster] ${signal}: draining instances, then stopping HAProxy`);
    (async () => {
      if (autoscaler) await autoscaler.stop();
      await rollouts?.stop();
      await db.close();
      await cluster.stop();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return -1;
}
