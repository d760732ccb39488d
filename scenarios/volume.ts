// Volume: large historical queries (days of 1-minute bars per request) with a little trading
// alongside: the database and serialization paths under big answers. (Add backtest weight once the
// analysis routes are served.)
import { tradingScenario } from '../src/loadtest/trading/index.ts';

export default tradingScenario({
  executor: { type: 'constant-arrival-rate', rate: 40, duration: '2m', maxVUs: 100 },
  weights: { history: 60, bars: 20, quote: 10, portfolio: 5, marketOrder: 3, limitOrder: 2 },
  historyDays: 7,
  websocket: 0,
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{endpoint:history}': ['p(95)<500'],
  },
});
