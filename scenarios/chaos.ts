// Chaos: the steady trading load of `tachyon loadtest --scenario chaos` (npm run loadtest:chaos), which
// starts its own 3-instance cluster, injects faults on a schedule while this runs through HAProxy, and
// judges each fault, each recovery and the correctness checks (src/loadtest/chaos/). Run alone against
// a target (`--scenario scenarios/chaos.ts`), it is just the load. Trading-heavy, no analysis work:
// the faults are about orders, ownership and the streams.
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: { type: 'constant-arrival-rate', rate: 30, duration: '2m', maxVUs: 40 },
  weights: { quote: 30, bars: 10, portfolio: 20, marketOrder: 25, limitOrder: 15, strategies: 0, backtest: 0, prediction: 0, history: 0 },
  // Whole-run figures include the faults; the SLOs are judged per interval by the chaos runner.
  thresholds: { http_req_failed: ['rate<0.1'] },
  gracefulStop: '10s',
});
