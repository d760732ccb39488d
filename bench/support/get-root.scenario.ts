// Module-form scenario for load-generator benchmarks (agents import it): closed model, GET / with the
// body discarded. The bench overrides VUs and duration per run.
import type { IterationContext, ScenarioOptions } from '../../src/loadtest/scenario.ts';

export const options: ScenarioOptions = {
  executor: { type: 'constant-vus', vus: 50, duration: '5s' },
  gracefulStop: '5s',
};

export default async function (ctx: IterationContext): Promise<void> {
  await ctx.http.get('/', { discardBody: true, tags: { endpoint: 'root' } });
}
