/**
 * The reference server for HTTP benchmarks: bare node:http answering a small JSON body shaped
 * like a quote, with keep-alive. Whatever the platform does beyond this is its overhead.
 */
import http from 'node:http';

const body = JSON.stringify({ symbol: 'AAPL', bid: 195.23, ask: 195.24, last: 195.23, bidSize: 100, askSize: 200, volume: 123456, ts: Date.now(), seq: 1 });
const port = Number(process.env.PORT ?? 0);

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
