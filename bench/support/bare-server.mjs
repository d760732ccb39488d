/**
 * The reference server for HTTP benchmarks: bare node:http answering a small JSON body shaped like a
 * quote, with keep-alive. Whatever the platform does beyond this is its overhead.
 *
 * Two ways to run it. As a process of its own (`startReference`): it listens on PORT and prints
 * `listening <port>`. Preloaded into another process (`node --import …/bare-server.mjs`, with
 * BENCH_IN_PROCESS_PORT set): it serves the same body on that port from that process's event loop,
 * heap and threads, so bench:http can tell what the platform's process costs any handler from what its
 * fast lane costs. Plain JavaScript, as the platform runs compiled code without tsx; worker threads
 * inherit a preload, so only the main thread listens.
 */
import http from 'node:http';
import { isMainThread } from 'node:worker_threads';

const body = JSON.stringify({ symbol: 'AAPL', bid: 195.23, ask: 195.24, last: 195.23, bidSize: 100, askSize: 200, volume: 123456, ts: Date.now(), seq: 1 });

function bareServer() {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

const inProcessPort = Number(process.env.BENCH_IN_PROCESS_PORT ?? 0);
if (inProcessPort > 0) {
  // The host process's shutdown decides when the process ends.
  if (isMainThread) bareServer().listen(inProcessPort, '127.0.0.1').unref();
} else {
  const port = Number(process.env.PORT ?? 0);
  const server = bareServer();
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
