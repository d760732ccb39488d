import type { Plan } from '../plan.ts';
import type { VirtualUser, VuEnv } from '../vu.ts';
import { runClosedModel } from './closed-model.ts';
import { runOpenModel } from './open-model.ts';
import type { ExecutionSlot } from './slot.ts';

export type { ExecutionSlot };

/** Runs the plan; resolves with every VU it created (for their vuTeardown). */
export function runPlan(plan: Plan, env: VuEnv, slot: ExecutionSlot): Promise<VirtualUser[]> {
  return plan.model === 'open' ? runOpenModel(plan, env, slot) : runClosedModel(plan, env, slot);
}
