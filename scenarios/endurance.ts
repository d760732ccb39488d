// Endurance (soak): a moderate steady load for a long time, judged window by window so slow decay
// (leaks, growing queues, table bloat) fails the run even when the whole-run figures look fine; the
// server's resident memory is sampled every 10 s and must stay under the 512 MB budget.
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: { type: 'constant-arrival-rate', rate: 100, duration: '20m', maxVUs: 100 },
  memorySampleMs: 10_000,
  thresholds: {
    http_req_failed: ['rate<0.01 over any 1m'],
    http_req_duration: ['p(95)<200 over any 1m'],
    order_ack_latency: ['p(99)<50 over any 1m'],
    server_memory_rss_mb: ['max<512'],
  },
});
