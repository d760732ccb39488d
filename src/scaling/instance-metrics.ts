/**
 * One instance's scaling metrics, read from its own admin API (each instance reports itself):
 * CPU seconds and cores (/api/performance/metrics/cpu: the utilization between two reads is the
 * difference, so it follows the load within one evaluation interval instead of a minute's average),
 * memory against its budget (/metrics/memory), HTTP p95 over the last minute and the task queue's
 * depth (/metrics), WebSocket connections (/metrics/network), event-loop delay p99, account shards
 * and the feed role (/api/health/detailed).
 */
import type { MetricValues } from './hpa.ts';

export interface InstanceSample {
  at: number;
  cpuSeconds: number;
  cores: number;
  memory: number;
  eventLoopP99Ms: number;
  /** Undefined without a request in the last minute. */
  httpP95Ms: number | undefined;
  /** The depth of the shared task queue (every instance reports the same queue). */
  queueDepth: number | undefined;
  websocketConnections: number;
  shardsHeld: number | null;
  feedLeader: boolean | null;
}

interface Dependency {
  name: string;
  details?: { role?: string; shardsHeld?: number };
}

export async function readInstanceSample(url: string, adminToken: string, timeoutMs = 2_000): Promise<InstanceSample> {
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(timeoutMs) });
    // /api/health/detailed answers 503 with its full report when a dependency is degraded.
    if (!response.ok && response.status !== 503) throw new Error(`${url}${path} answered ${response.status}`);
    return (await response.json()) as T;
  };
  const at = Date.now();
  const [cpu, memory, overview, network, detailed] = await Promise.all([
    get<{ cores: number; cpuSeconds: { user: number; system: number } }>('/api/performance/metrics/cpu'),
    get<{ utilization: number }>('/api/performance/metrics/memory'),
    get<{ http: Record<string, { count: number; p95: number }>; taskQueue: { depth?: number } | null }>('/api/performance/metrics'),
    get<{ websocket: { connections?: number } | null }>('/api/performance/metrics/network'),
    get<{ eventLoopDelayMs: { p99: number }; dependencies: Dependency[] }>('/api/health/detailed'),
  ]);
  const lastMinute = overview.http['1m'];
  const dependency = (name: string) => detailed.dependencies.find((d) => d.name === name)?.details;
  const role = dependency('feed')?.role;
  return {
    at,
    cpuSeconds: cpu.cpuSeconds.user + cpu.cpuSeconds.system,
    cores: cpu.cores,
    memory: memory.utilization,
    eventLoopP99Ms: detailed.eventLoopDelayMs.p99,
    httpP95Ms: lastMinute && lastMinute.count > 0 ? lastMinute.p95 : undefined,
    queueDepth: overview.taskQueue?.depth,
    websocketConnections: network.websocket?.connections ?? 0,
    shardsHeld: dependency('account leases')?.shardsHeld ?? null,
    feedLeader: role === undefined ? null : role === 'leader',
  };
}

/** An instance's own values; CPU needs the previous read of the same process (undefined on the first). */
export function instanceMetrics(previous: InstanceSample | undefined, sample: InstanceSample): MetricValues {
  const elapsedSeconds = previous ? (sample.at - previous.at) / 1000 : 0;
  const cpuDelta = previous ? sample.cpuSeconds - previous.cpuSeconds : -1;
  return {
    // A negative delta is a restarted process: no CPU value until its next read.
    ...(elapsedSeconds > 0 && cpuDelta >= 0 ? { cpu: cpuDelta / (elapsedSeconds * sample.cores) } : {}),
    memory: sample.memory,
    eventLoopP99Ms: sample.eventLoopP99Ms,
    ...(sample.httpP95Ms !== undefined ? { httpP95Ms: sample.httpP95Ms } : {}),
    websocketConnections: sample.websocketConnections,
  };
}

/**
 * What the decision sees: per-instance averages over the instances that answered, and the shared
 * queue's depth divided by the ready instances (as an HPA External metric with an AverageValue target).
 */
export function clusterMetrics(perInstance: readonly MetricValues[], queueDepth: number | undefined, readyCount: number): MetricValues {
  const out: MetricValues = {};
  for (const key of ['cpu', 'memory', 'eventLoopP99Ms', 'httpP95Ms', 'websocketConnections'] as const) {
    const values = perInstance.map((m) => m[key]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length > 0) out[key] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  if (queueDepth !== undefined && readyCount > 0) out.queueDepth = queueDepth / readyCount;
  return out;
}
