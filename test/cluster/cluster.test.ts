/**
 * `tachyon cluster --instances 3` as real processes behind real HAProxy on a real PostgreSQL and
 * Redis: one URL serves every instance; kill -9 of one instance under a steady mixed load fails
 * fewer than 0.1% of requests; a rolling restart (SIGTERM each instance in turn, the supervisor
 * restarts it) under load fails none: every order forwarded to a stopping owner either reaches it
 * or certainly did not run and is sent to the new owner (src/cluster/forwarding.ts).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_NODE_OPTIONS } from '../../src/kernel/node-options.ts';
import { ClusterProcess, clusterPrerequisites, SteadyLoad, sleep } from './support.ts';

const ready = await clusterPrerequisites();

describe.skipIf(!ready)('tachyon cluster behind HAProxy', () => {
  let cluster: ClusterProcess & { url: string };

  beforeAll(async () => {
    cluster = await ClusterProcess.start(3, { port: 29000, statsPort: 29001, basePort: 29010 });
  }, 180_000);
  afterAll(async () => {
    expect(await cluster?.stop()).toBe(0);
  }, 60_000);

  it('serves every instance through one URL, with HAProxy checking their readiness', async () => {
    const status = await cluster.serverStatus();
    expect(Object.keys(status)).toEqual(['i1', 'i2', 'i3']);
    for (const state of Object.values(status)) expect(state).toMatch(/^UP/);
    const instances = new Set<string>();
    // Concurrent requests: round robin spreads them over the instances.
    for (let round = 0; round < 10 && instances.size < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${cluster.url}/api/health/ready`).then((r) => r.json() as Promise<{ status: string; instance: string }>)));
      for (const answer of answers) {
        expect(answer.status).toBe('ready');
        instances.add(answer.instance);
      }
    }
    expect(instances.size).toBe(3);
  });

  it("runs every instance with npm start's node options", () => {
    for (const [name, instance] of Object.entries(cluster.state().instances)) {
      const commandLine = readFileSync(`/proc/${instance.pid}/cmdline`, 'utf8').split('\0');
      expect(commandLine.slice(1, 1 + SERVER_NODE_OPTIONS.length), name).toEqual(SERVER_NODE_OPTIONS);
    }
  });

  it('loses fewer than 0.1% of requests when one of three instances is killed -9 under load, and restarts it', async () => {
    const load = await SteadyLoad.start(cluster.url, 6);
    await sleep(3_000);
    const victim = cluster.state().instances.i2!.pid;
    process.kill(victim!, 'SIGKILL');
    await cluster.restarted('i2', victim);
    // An order in flight through the killed instance (received or owned there) when it dies fails by
    // nature: it is never resent blind. The load has six loops, so at most six such failures: with 7,000
    // requests they alone stay under 0.1%, and any more (requests sent to the dead instance, orders held on
    // its shards until the takeover) fail the test. With 3,000, four in flight at once failed it (s9-5).
    await load.atLeast(7_000, 180_000);
    const result = await load.stop();
    console.log(`kill -9 of one of three: ${result.failed} of ${result.total} requests failed (${result.orders} orders sent)`);
    expect(result.total).toBeGreaterThanOrEqual(7_000);
    expect(result.failed / result.total, `${result.failed} of ${result.total} failed: ${result.failures.join('; ')}`).toBeLessThan(0.001);
  }, 300_000);

  it('fails no request during a rolling restart under load', async () => {
    const load = await SteadyLoad.start(cluster.url, 6);
    await sleep(2_000);
    for (const name of ['i1', 'i2', 'i3']) {
      const pid = cluster.state().instances[name]!.pid;
      process.kill(pid!, 'SIGTERM');
      await cluster.restarted(name, pid);
    }
    const result = await load.stop();
    console.log(`rolling restart: ${result.failed} of ${result.total} requests failed (${result.orders} orders sent, ${result.resentReads} reads resent)`);
    expect(result.orders).toBeGreaterThan(100);
    expect(result.failed, `${result.failed} of ${result.total} failed: ${result.failures.join('; ')}`).toBe(0);
  }, 400_000);
});
