/**
 * Open model (constant/ramping arrival rate). A single dispatcher walks the arrival schedule and hands
 * each due arrival to an idle VU. When all VUs are busy (the server is slow), arrivals wait for one
 * instead of being dropped, and each iteration's lag from its due time is charged to its latency —
 * wrk2's answer to coordinated omission. The number of arrivals is fixed by the schedule.
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
  let releaseWaiter: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();

  const acquire = async (): Promise<VirtualUser | undefined> => {
    for (;;) {
      const vu = idle.pop();
      if (vu) return vu;
      if (created < cap) return new VirtualUser(slot.shard + 1 + slot.shards * created++, env);
      if (slot.stop.aborted) return undefined;
      await new Promise<void>((resolve) => (releaseWaiter = resolve));
    }
  };
  const onStop = (): void => releaseWaiter?.();
  slot.stop.addEventListener('abort', onStop, { once: true });

  for (let due = schedule.next(); due !== undefined && !slot.stop.aborted; due = schedule.next()) {
    const dueAt = slot.startMs + due;
    await waitUntil(dueAt, slot.stop);
    const vu = await acquire();
    if (!vu || slot.stop.aborted) break;
    const run = vu.iterate(dueAt).finally(() => {
      inFlight.delete(run);
      idle.push(vu);
      const wake = releaseWaiter;
      releaseWaiter = undefined;
      wake?.();
    });
    inFlight.add(run);
  }
  slot.stop.removeEventListener('abort', onStop);
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
