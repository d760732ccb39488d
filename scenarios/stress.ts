// Stress: arrivals climb in steps well past the expected peak to find where latency and errors give
// way; it stops early once a fifth of requests fail (there is nothing more to learn past that).
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: {
    type: 'ramping-arrival-rate',
    startRate: 100,
    maxVUs: 1000,
    stages: [
      { duration: '1m', target: 500 },
      { duration: '1m', target: 1000 },
      { duration: '1m', target: 2000 },
      { duration: '1m', target: 3000 },
      { duration: '30s', target: 0 },
    ],
  },
  thresholds: {
    http_req_failed: [{ threshold: 'rate<0.2', abortOnFail: true, delayAbortEval: '30s' }],
    http_req_duration: ['p(95)<1000 over any 30s'],
  },
});
