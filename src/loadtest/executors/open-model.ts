/**
 * Open model (constant/ramping arrival rate), as k6 runs it: a single dispatcher walks the arrival
 * schedule and hands each due arrival to an idle VU, creating VUs up to maxVUs; when every VU is busy
 * (the server is slow) the arrival is dropped and counted in `dropped_iterations`, so the offered
 * rate never turns into a queue inside the generator. Coordinated-omission correction stays for what
 * does run: an iteration is timed from its due time, so the dispatcher's own lateness (a busy event
 * loop) is charged to `http_req_duration` and `iteration_duration`, while `http_req_service_time` is
 * timed from the send. Scheduled arrivals = iterations + dropped_iterations.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { epochNowMs } from '../metrics.ts';
import type { OpenPlan } from '../plan.ts';
import { ArrivalSchedule } from '../schedule.ts';
import { VirtualUser } from '../vu.ts';
import type { VuEnv } from '../vu.ts';
import type { ExecutionSlot } from './slot.ts';
import { waitUntil } from './slot.ts';

export async function runOpenModel(plan: OpenPlan, env: VuEnv, slot: ExecutionSlot): Promise<VirtualUser[]> {
  const schedule = new ArrivalSchedule(plan.segments, slot.shard, slot.shards);
  // VU ids interleave across threads like arrivals do (shard k owns k+1, k+1+shards, …); this thread's
  // cap is how many of those are ≤ maxVUs, so ids stay within 1…maxVUs (setup prepares one account per id).
  const cap = Math.max(1, Math.floor((plan.maxVUs - 1 - slot.shard) / slot.shards) + 1);
  const idle: VirtualUser[] = [];
  let created = 0;
  const inFlight = new Set<Promise<void>>();
  // Reported even when nothing is dropped: an arrival-rate run always says how many it dropped.
  env.metrics.addCounter('dropped_iterations', env.baseTags, 0, slot.startMs);

  for (let due = schedule.next(); due !== undefined && !slot.stop.aborted; due = schedule.next()) {
    const dueAt = slot.startMs + due;
    await waitUntil(dueAt, slot.stop);
    if (slot.stop.aborted) break;
    const vu = idle.pop() ?? (created < cap ? new VirtualUser(slot.shard + 1 + slot.shards * created++, env) : undefined);
    if (!vu) {
      env.metrics.addCounter('dropped_iterations', env.baseTags, 1, dueAt);
      continue;
    }
    const run = vu.iterate(dueAt).finally(() => {
      inFlight.delete(run);
      idle.push(vu);
    });
    inFlight.add(run);
  }
  await drain(inFlight, slot);
  return idle;
}

/** Waits for in-flight iterations, at most the graceful-stop time (none after a hard stop). */
export async function drain(inFlight: Set<Promise<void>>, slot: ExecutionSlot): Promise<void> {
  if (inFlight.size === 0) return;
  const all = Promise.allSettled([...inFlight]).then(() => undefined);
  const graceMs = slot.stop.aborted ? 0 : slot.gracefulStopMs;
  const deadline = epochNowMs() + graceMs;
  const timedOut = delay(Math.max(0, deadline - epochNowMs()), undefined, { ref: false }).then(() => 'timeout' as const);
  if ((await Promise.race([all, timedOut])) === 'timeout') {
    slot.abandon();
    await all;
  }
}
