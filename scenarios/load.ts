// Load: the expected busy-day traffic as an open model (arrivals do not wait for responses, so a slow
// server shows in latency instead of hiding behind fewer requests), against the platform's targets.
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: { type: 'constant-arrival-rate', rate: 300, duration: '2m', maxVUs: 200 },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<200', 'p(99)<500 over any 30s'],
    'http_req_duration{endpoint:quote}': ['p(99)<100'],
    'http_req_duration{endpoint:history}': ['p(95)<500'],
    order_ack_latency: ['p(99)<50'],
    fill_latency: ['p(95)<1000'],
    'ws_msg_latency{channel:quotes}': ['p(99)<50'],
  },
});
