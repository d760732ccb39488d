// Baseline: a light, steady closed-model load (a handful of traders with think time), the reference
// that later runs are compared against: tachyon loadtest --scenario baseline --save-baseline base.json
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: { type: 'constant-vus', vus: 10, duration: '1m', thinkTime: { min: '200ms', max: '1s' } },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{endpoint:quote}': ['p(95)<100'],
    'http_req_duration{endpoint:portfolio}': ['p(95)<200'],
    order_ack_latency: ['p(99)<50'],
  },
});
