// Spike: a simulated market open — 0 to 500 traders in 30 s, order-heavy and every trader on the
// WebSocket feed, held for a minute, then back down. Closed model: each trader waits for its answers.
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: {
    type: 'ramping-vus',
    startVUs: 0,
    thinkTime: { min: '500ms', max: '2s' },
    stages: [
      { duration: '30s', target: 500 },
      { duration: '1m', target: 500 },
      { duration: '30s', target: 0 },
    ],
  },
  weights: { quote: 30, marketOrder: 20, limitOrder: 15, portfolio: 20, bars: 10, history: 0 },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<300 over any 10s'],
    order_ack_latency: ['p(99)<100'],
    'ws_msg_latency{channel:quotes}': ['p(99)<100'],
  },
});
