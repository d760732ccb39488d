// A load generator on its own thread: autocannon (closed model, keep-alive) driving one URL list,
// each response time recorded in an HDR histogram (autocannon's own summary has no p95). Running
// off the main thread keeps the generator out of an in-process server's event loop; both still
// share the machine's cores.
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';

const { url, paths, headers, connections, durationS } = workerData;
const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
let status2xx = 0;
let other = 0;

const instance = autocannon(
  { url, connections, duration: durationS, headers, requests: paths.map((path) => ({ method: 'GET', path })) },
  (error, result) => {
    // autocannon's own summary is not used for latency: it has no p95.
    if (error) throw error;
    const at = (p) => histogram.getValueAtPercentile(p) / 1000;
    parentPort.postMessage({
      requests: histogram.totalCount,
      requestsPerSecond: Math.round(histogram.totalCount / durationS),
      p50Ms: at(50),
      p95Ms: at(95),
      p99Ms: at(99),
      maxMs: histogram.maxValue / 1000,
      status2xx,
      other: other + result.errors,
    });
  },
);
instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
  if (statusCode >= 200 && statusCode < 300) status2xx++;
  else other++;
  histogram.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
});
