/**
 * Closed model (constant/ramping VUs): each VU loops iteration → think time. The number of active
 * VUs follows the stages; a VU above the current target finishes its iteration and parks (k6's
 * graceful ramp-down) until the target rises again. Latency here is what a user with N concurrent
 * sessions sees; throughput is whatever the server allows (no coordinated-omission correction applies).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { epochNowMs } from '../metrics.ts';
import type { ClosedPlan } from '../plan.ts';
import { valueAt } from '../schedule.ts';
import { VirtualUser } from '../vu.ts';
import type { VuEnv } from '../vu.ts';
import { drain } from './open-model.ts';
import { waitUntil } from './slot.ts';
import type { ExecutionSlot } from './slot.ts';

/** How often a parked VU looks at the target again; bounds how late a ramp-up step starts a VU. */
const PARK_POLL_MS = 50;

export async function runClosedModel(plan: ClosedPlan, env: VuEnv, slot: ExecutionSlot): Promise<VirtualUser[]> {
  const endAt = slot.startMs + plan.durationMs;
  const inFlight = new Set<Promise<void>>();
  const vus: VirtualUser[] = [];
  const loops: Array<Promise<void>> = [];
  // Global VU index g belongs to shard g mod shards, so every thread ramps its share in step.
  for (let g = slot.shard; g < plan.maxVUs; g += slot.shards) {
    const vu = new VirtualUser(g + 1, env);
    vus.push(vu);
    loops.push(vuLoop(vu, g));
  }

  async function vuLoop(vu: VirtualUser, index: number): Promise<void> {
    for (;;) {
      const now = epochNowMs();
      if (now >= endAt || slot.stop.aborted) return;
      // A VU with index g is active while the (rounded) target exceeds g.
      if (index >= Math.round(valueAt(plan.segments, now - slot.startMs))) {
        await delay(Math.min(PARK_POLL_MS, endAt - now), undefined, { signal: slot.stop }).catch(() => undefined);
        continue;
      }
      const run = vu.iterate(now);
      inFlight.add(run);
      await run;
      inFlight.delete(run);
      const think = plan.thinkTime.minMs + Math.random() * (plan.thinkTime.maxMs - plan.thinkTime.minMs);
      // Until an instant, not a plain timer: Node measures timers from the loop's cached time, so on a
      // starved CPU a think time ended early (engine.test.ts counted 13 iterations of 2 VUs thinking 200 ms in
      // 1 s at load average 28, where the test allows 12).
      if (think > 0) await waitUntil(Math.min(epochNowMs() + think, endAt), slot.stop);
    }
  }

  // VU loops end at the deadline between iterations; in-flight ones get the graceful-stop time.
  const loopsDone = Promise.all(loops).then(() => undefined);
  const untilEnd = delay(Math.max(0, endAt - epochNowMs()), undefined, { signal: slot.stop, ref: false }).catch(() => undefined);
  await Promise.race([loopsDone, untilEnd.then(() => drain(inFlight, slot))]);
  await loopsDone;
  // VUs that never ran (a ramp that did not reach them) have nothing to verify.
  return vus.filter((vu) => vu.vu.iteration > 0);
}
