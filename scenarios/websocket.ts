// WebSocket: 1,000 sessions on the gateway for five minutes (seed 004's `npm run loadtest:websocket`,
// k6's `--vus 1000 --duration 5m`), each subscribed to five symbols' quotes, judged on connecting,
// receiving and the seed's WebSocket latency objective (< 50 ms). `--vus 100 --duration 30s` for a short run.
import { websocketScenario } from '../src/loadtest/websocket/sessions.ts';

export default websocketScenario({
  executor: { type: 'constant-vus', vus: 1000, duration: '5m' },
  thresholds: {
    ws_connect_failed: ['rate<0.01'],
    ws_connecting: ['p(95)<1000'],
    'ws_msg_latency{channel:quotes}': ['p(95)<50', 'p(99)<100'],
    'ws_seq_gaps{channel:quotes}': ['count==0'],
    'checks{check:session subscribed}': ['rate>0.99'],
    'checks{check:quotes received}': ['rate>0.99'],
  },
  gracefulStop: '5s',
});
