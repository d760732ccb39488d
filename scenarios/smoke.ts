// Smoke: a few seconds of the full trading mix at a low rate, every business check on. CI runs it
// (npm run loadtest:smoke) against an in-process platform; copy it to start a scenario of your own.
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: { type: 'constant-arrival-rate', rate: 20, duration: '5s', maxVUs: 5 },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<500'],
    order_ack_latency: ['p(95)<500'],
    checks: ['rate>0.99'],
  },
  gracefulStop: '5s',
});
