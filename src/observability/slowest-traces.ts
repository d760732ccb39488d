/**
 * Keeps the slowest recent traces in memory when no OTLP collector is configured: a SpanProcessor
 * that groups finished spans by trace and, when a trace's local root ends, keeps the trace if it is
 * among the `capacity` slowest of the last `retentionMs`. Memory is bounded by the capacity and by
 * `MAX_OPEN_TRACES`/`MAX_SPANS_PER_TRACE` for traces still in flight.
 */
import type { Context } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Clock } from '../kernel/clock.ts';

const MAX_OPEN_TRACES = 2_000;
const MAX_SPANS_PER_TRACE = 200;

export interface SpanView {
  name: string;
  spanId: string;
  parentSpanId: string | undefined;
  kind: number;
  startTime: string;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  attributes: Record<string, unknown>;
}

export interface TraceView {
  traceId: string;
  root: string;
  durationMs: number;
  endedAt: number;
  spans: SpanView[];
}

function view(span: ReadableSpan): SpanView {
  return {
    name: span.name,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    kind: span.kind,
    startTime: new Date(hrTimeToMilliseconds(span.startTime)).toISOString(),
    durationMs: hrTimeToMilliseconds(span.duration),
    status: (['unset', 'ok', 'error'] as const)[span.status.code] ?? 'unset',
    attributes: { ...span.attributes },
  };
}

export interface DominantSpan {
  name: string;
  /** The span's own time: its duration less its direct children's. */
  selfMs: number;
  /** Its self time as a share of the whole trace. */
  share: number;
  attributes: Record<string, unknown>;
}

/** The span whose own time is the largest part of the trace: what to fix first (the root means the handler's own code). */
export function dominantSpan(trace: TraceView): DominantSpan | undefined {
  const childTime = new Map<string, number>();
  for (const span of trace.spans) if (span.parentSpanId) childTime.set(span.parentSpanId, (childTime.get(span.parentSpanId) ?? 0) + span.durationMs);
  let best: DominantSpan | undefined;
  for (const span of trace.spans) {
    const selfMs = Math.max(0, span.durationMs - (childTime.get(span.spanId) ?? 0));
    if (!best || selfMs > best.selfMs) best = { name: span.name, selfMs, share: trace.durationMs > 0 ? selfMs / trace.durationMs : 0, attributes: span.attributes };
  }
  return best;
}

export class SlowestTraces implements SpanProcessor {
  /** Spans of traces still in flight; turned into views only if their trace is kept (most are not). */
  private readonly open = new Map<string, ReadableSpan[]>();
  private kept: TraceView[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly retentionMs = 15 * 60_000,
  ) {}

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    let spans = this.open.get(traceId);
    if (!spans) {
      if (this.open.size >= MAX_OPEN_TRACES) return;
      this.open.set(traceId, (spans = []));
    }
    if (spans.length < MAX_SPANS_PER_TRACE) spans.push(span);
    // A local root has no parent or a remote one (the caller's span from traceparent).
    if (span.parentSpanContext && !span.parentSpanContext.isRemote) return;
    this.open.delete(traceId);
    const durationMs = hrTimeToMilliseconds(span.duration);
    if (this.qualifies(durationMs)) this.keep({ traceId, root: span.name, durationMs, endedAt: this.clock.now(), spans: spans.map(view) });
  }

  /** False when the buffer is full of fresh traces all at least this slow (most requests: a cheap early out). */
  qualifies(durationMs: number): boolean {
    const fastest = this.kept.at(-1);
    return !(this.kept.length >= this.capacity && fastest && fastest.durationMs >= durationMs && fastest.endedAt > this.clock.now() - this.retentionMs);
  }

  private keep(trace: TraceView): void {
    const horizon = this.clock.now() - this.retentionMs;
    const fresh = this.kept.filter((t) => t.endedAt > horizon);
    fresh.push(trace);
    fresh.sort((a, b) => b.durationMs - a.durationMs);
    this.kept = fresh.slice(0, this.capacity);
  }

  /** The slowest kept trace of a route (its server span's `http.route`), if any. */
  slowestOf(route: string): TraceView | undefined {
    return this.traces().find((t) => t.spans.some((span) => span.name === t.root && span.attributes['http.route'] === route));
  }

  /** Slowest first. */
  traces(): TraceView[] {
    const horizon = this.clock.now() - this.retentionMs;
    return this.kept.filter((t) => t.endedAt > horizon);
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.open.clear();
  }
}
