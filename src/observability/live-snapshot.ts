/**
 * The payload of the admin `metrics` WebSocket channel as a TypeBox schema: the server builds it
 * (live-metrics.ts), the AsyncAPI document describes it (realtime/asyncapi.ts) and the dashboard
 * reads it (a type-only import), all from this one definition. It imports nothing but TypeBox, so
 * the dashboard's type check can follow it without pulling in the server.
 */
import { Type, type Static } from '@sinclair/typebox';

const Ms = (description?: string) => Type.Number({ description: description ?? 'milliseconds' });

const LatencySchema = Type.Object({
  ratePerSecond: Type.Number(),
  errorRatio: Type.Number({ description: 'share of 5xx answers, 0–1' }),
  p50: Ms(),
  p95: Ms(),
  p99: Ms(),
});
export type Latency = Static<typeof LatencySchema>;

const PercentilesSchema = Type.Object({ count: Type.Integer(), mean: Ms(), p50: Ms(), p95: Ms(), p99: Ms(), max: Ms() });

const HeatmapColumnSchema = Type.Object({
  start: Type.Integer({ description: 'slot start, epoch ms' }),
  counts: Type.Array(Type.Integer(), { description: 'requests per bucket: one per bound, then one above the last bound' }),
});
export type HeatmapColumn = Static<typeof HeatmapColumnSchema>;

const TaskQueueSchema = Type.Object({
  depth: Type.Integer(),
  running: Type.Integer(),
  completionRate: Type.Union([Type.Number(), Type.Null()], { description: 'completed / (completed + failed); null before any finish' }),
  byType: Type.Record(
    Type.String(),
    Type.Object({
      queued: Type.Integer(),
      running: Type.Integer(),
      completed: Type.Integer(),
      failed: Type.Integer(),
      cancelled: Type.Integer(),
      retried: Type.Integer(),
      waitMs: PercentilesSchema,
      executionMs: PercentilesSchema,
    }),
  ),
});

const LoadTestProgressSchema = Type.Object({
  elapsedMs: Type.Number(),
  durationMs: Type.Number(),
  requests: Type.Integer(),
  iterations: Type.Integer(),
  dropped: Type.Integer({ description: 'arrivals dropped because every VU was busy' }),
  rps: Type.Number({ description: 'requests per second over the last complete seconds' }),
  p95: Ms('p95 of http_req_duration over the last complete seconds, ms'),
  errorRate: Type.Number({ description: 'whole-run share of failed requests so far' }),
  thresholdsFailing: Type.Integer(),
});

export const LiveSnapshotSchema = Type.Object(
  {
    ts: Type.Integer({ description: 'epoch ms' }),
    instance: Type.String(),
    http: Type.Object(LatencySchema.properties, { description: 'all HTTP requests over the last minute' }),
    routes: Type.Array(Type.Composite([Type.Object({ route: Type.String() }), LatencySchema]), { description: 'the slowest routes (p95) over the last minute' }),
    heatmap: Type.Object({
      slotMs: Type.Integer(),
      boundsMs: Type.Array(Type.Number(), { description: 'bucket upper bounds, ms' }),
      columns: Type.Array(HeatmapColumnSchema, { description: 'the whole map (15 minutes) in a subscribe snapshot; the current and previous slots in an update (merge by start)' }),
    }),
    memory: Type.Object({ rssBytes: Type.Integer(), heapUsedBytes: Type.Integer(), limitBytes: Type.Integer() }),
    cpu: Type.Union([Type.Object({ cores: Type.Integer(), cpu: Type.Number(), eventLoop: Type.Number() }), Type.Null()], { description: 'utilization over the last minute; null until the runtime sampler has two samples' }),
    eventLoopDelayMs: Type.Object({ p50: Ms(), p99: Ms() }),
    taskQueue: Type.Union([TaskQueueSchema, Type.Null()]),
    connections: Type.Object({ http: Type.Integer(), websocket: Type.Integer(), subscriptions: Type.Integer(), messagesOutPerSec: Type.Number() }),
    cache: Type.Record(Type.String(), Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])), {
      description: "hit rate since start by data class, then tier (a tier's misses are the reads it passed on); null: no read reached it",
    }),
    database: Type.Object({
      queries: LatencySchema,
      statements: Type.Array(Type.Object({ statement: Type.String(), count: Type.Integer(), med: Ms(), p95: Ms(), p99: Ms() }), { description: 'slowest statements by p95 since start' }),
      pool: Type.Object({ inUse: Type.Integer(), waiting: Type.Integer(), max: Type.Integer() }),
    }),
    alerts: Type.Array(
      Type.Object({
        rule: Type.String(),
        severity: Type.Union([Type.Literal('page'), Type.Literal('ticket')]),
        state: Type.Union([Type.Literal('pending'), Type.Literal('firing')]),
        summary: Type.String(),
      }),
    ),
    loadTest: Type.Union([Type.Object({ id: Type.Integer(), progress: Type.Union([LoadTestProgressSchema, Type.Null()]) }), Type.Null()], { description: 'the load test running on this instance, with its live progress' }),
  },
  { $id: 'LiveSnapshot', description: "Payload of `metrics` (admins only): this instance's performance snapshot, about once a second (state channel, conflated)." },
);
export type LiveSnapshot = Static<typeof LiveSnapshotSchema>;
