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
import { logCorrelation } from '../../src/observability/log-context.ts';
import pino from 'pino';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';

async function setup(lazy: boolean, logContext = false) {
  const clock = new ManualClock();
  const tracing = new Tracing({ instanceId: 't', version: '0', clock, sampleRatio: 1, otlpEndpoint: undefined, bufferSize: 10, enabled: () => true, lazy: () => lazy });
  const http = new HttpTelemetry({ metrics: new Metrics(), tracing, clock, slowRequestMs: 60_000, latencySloMs: 100, enabled: { metrics: () => true, logs: () => false, logContext: () => logContext } });
  const app = Fastify();
  http.install(app);
  app.get('/x', async () => ({ ok: true }));
  // What the pino mixin adds to a line the root logger writes while serving this request.
  app.get('/log', async () => logCorrelation({}, 30, pino({ enabled: false })));
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

  it('put the request id in an untraced request’s context only with observability.log-context', async () => {
    expect((await (await setup(true)).app.inject({ url: '/log' })).json()).toEqual({});
    const withContext = (await (await setup(true, true)).app.inject({ url: '/log' })).json();
    expect(withContext).toEqual({ reqId: expect.any(String) });
  });
});
