/**
 * Log correlation: the request id travels in the OpenTelemetry context (AsyncLocalStorage), so every
 * log line written while serving a traced request (any request with `observability.log-context`)—by
 * any component, with any logger—carries the request id and the trace id, without passing a child
 * logger down the call chain. Lines written through Fastify's `request.log` carry the request id always.
 */
import { context, createContextKey, trace, type Context } from '@opentelemetry/api';
import type { Logger } from 'pino';

const REQUEST_ID = createContextKey('tachyon.request_id');

export function withRequestId(ctx: Context, requestId: string): Context {
  return ctx.setValue(REQUEST_ID, requestId);
}

/** pino `mixin`: fields merged into every log line written inside a request's context. */
export function logCorrelation(_merge: object, _level: number, logger: Logger): Record<string, string> {
  const ctx = context.active();
  const requestId = ctx.getValue(REQUEST_ID) as string | undefined;
  const span = trace.getSpanContext(ctx);
  const out: Record<string, string> = {};
  // Fastify's request.log already binds reqId; repeating it would write a duplicate JSON key.
  if (requestId && logger.bindings().reqId === undefined) out.reqId = requestId;
  if (span) {
    out.trace_id = span.traceId;
    out.span_id = span.spanId;
  }
  return out;
}
