/**
 * Deferred (lazy) request traces with the in-memory buffer: a request without a caller's traceparent
 * costs no span unless it ends slow enough to keep; a caller's trace is always continued live.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { HttpTelemetry } from '../../src/observability/http.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { Tracing } from '../../src/observability/tracing.ts';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';

async function setup(lazy: boolean) {
  const clock = new ManualClock();
  const tracing = new Tracing({ instanceId: 't', version: '0', clock, sampleRatio: 1, otlpEndpoint: undefined, bufferSize: 10, enabled: () => true, lazy: () => lazy });
  const http = new HttpTelemetry({ metrics: new Metrics(), tracing, clock, slowRequestMs: 60_000, latencySloMs: 100, enabled: { metrics: () => true, logs: () => false } });
  const app = Fastify();
  http.install(app);
  app.get('/x', async () => ({ ok: true }));
  await app.ready();
  const startSpan = vi.spyOn(tracing.tracer, 'startSpan');
  return { app, tracing, startSpan, buffer: tracing.slowest! };
}

describe('lazy request traces (observability.lazy-traces)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('start no span for requests the buffer would not keep', async () => {
    const { app, startSpan, buffer } = await setup(true);
    vi.spyOn(buffer, 'qualifies').mockReturnValue(false);
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/x' })).statusCode).toBe(200);
    expect(startSpan).not.toHaveBeenCalled();
    expect(buffer.traces()).toEqual([]);
  });

  it('materialize a back-dated server span for a request the buffer keeps', async () => {
    const { app, startSpan, buffer } = await setup(true);
    await app.inject({ url: '/x' });
    expect(startSpan).toHaveBeenCalledTimes(1);
    const [trace] = buffer.traces();
    expect(trace).toMatchObject({ root: 'GET /x', spans: [{ name: 'GET /x', parentSpanId: undefined, attributes: { 'http.route': '/x', 'http.response.status_code': 200 } }] });
  });

  it('continue a caller’s trace live, whatever its duration', async () => {
    const { app, startSpan, buffer } = await setup(true);
    await app.inject({ url: '/x', headers: { traceparent: `00-${CALLER_TRACE}-b7ad6b7169203331-01` } });
    expect(startSpan).toHaveBeenCalledTimes(1);
    expect(buffer.traces()[0]).toMatchObject({ traceId: CALLER_TRACE, spans: [{ parentSpanId: 'b7ad6b7169203331' }] });
  });

  it('start a span for every request when off', async () => {
    const { app, startSpan } = await setup(false);
    for (let i = 0; i < 3; i++) await app.inject({ url: '/x' });
    expect(startSpan).toHaveBeenCalledTimes(3);
  });
});
