/**
 * bench/support/bare-server.ts's server inside another process: preloaded into the platform
 * (`node --import`, BENCH_IN_PROCESS_PORT), it serves the same body from the platform's event loop,
 * heap and threads. bench:http compares it with the standalone reference (what the platform's
 * process costs any handler) and with the fast lane (what the lane itself costs). Plain JavaScript:
 * the platform runs compiled code without tsx. Worker threads inherit the preload: only the main
 * thread listens.
 */
import http from 'node:http';
import { isMainThread } from 'node:worker_threads';

const port = Number(process.env.BENCH_IN_PROCESS_PORT);
if (isMainThread && port > 0) {
  const body = JSON.stringify({ symbol: 'AAPL', bid: 195.23, ask: 195.24, last: 195.23, bidSize: 100, askSize: 200, volume: 123456, ts: Date.now(), seq: 1 });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  // The platform's shutdown decides when the process ends.
  server.listen(port, '127.0.0.1').unref();
}
