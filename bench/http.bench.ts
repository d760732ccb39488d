/**
 * GET /api/market-data/quotes/:symbol on the platform versus a bare node:http server returning a
 * similar JSON body, driven by the same load generator (autocannon, closed model, keep-alive) in
 * the same run. Both servers run in their own processes; the generator runs here. On a 2-core
 * machine generator and server share the cores, which caps both figures alike.
 */
import autocannon from 'autocannon';
import { BENCH_DEMO_TOKEN, startPlatform, startReference, type Server } from './support/processes.ts';
import { printTable, writeResults } from './support/results.ts';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_S = 2;

interface Figures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  non2xx: number;
}

async function load(url: string, headers: Record<string, string>, duration: number): Promise<Figures> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration, headers });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

async function measure(name: string, server: Server, path: string, headers: Record<string, string>): Promise<Figures & { rssMiB: number }> {
  process.stderr.write(`${name}: warm-up ${WARMUP_S}s, then ${DURATION_S}s at ${CONNECTIONS} connections…\n`);
  await load(server.url + path, headers, WARMUP_S);
  const figures = await load(server.url + path, headers, DURATION_S);
  return { ...figures, rssMiB: Math.round(server.rss() / 2 ** 20) };
}

const platform = await startPlatform({ TACHYON_RATE_LIMIT: '0' });
const tachyon = await measure('tachyon', platform, '/api/market-data/quotes/AAPL', { authorization: `Bearer ${BENCH_DEMO_TOKEN}` });
await platform.stop();

const bare = await startReference('bench/support/bare-server.ts');
const reference = await measure('bare node:http', bare, '/', {});
await bare.stop();

const ratio = tachyon.requestsPerSecond / reference.requestsPerSecond;
console.log(`\nGET quote: Tachyon vs bare node:http (${CONNECTIONS} connections, ${DURATION_S}s, generator on the same 2 cores)\n`);
printTable([
  { server: 'tachyon /api/market-data/quotes/AAPL', 'req/s': tachyon.requestsPerSecond, 'p50 ms': tachyon.p50Ms, 'p99 ms': tachyon.p99Ms, 'p99.9 ms': tachyon.p999Ms, errors: tachyon.errors + tachyon.non2xx, 'rss MiB': tachyon.rssMiB },
  { server: 'bare node:http (reference)', 'req/s': reference.requestsPerSecond, 'p50 ms': reference.p50Ms, 'p99 ms': reference.p99Ms, 'p99.9 ms': reference.p999Ms, errors: reference.errors + reference.non2xx, 'rss MiB': reference.rssMiB },
]);
console.log(`\nratio: ${(ratio * 100).toFixed(1)}% of the bare server's throughput (target ≥ 70%)`);
const file = writeResults('http', { connections: CONNECTIONS, durationSeconds: DURATION_S, tachyon, reference, ratio });
console.log(`results: ${file}`);
