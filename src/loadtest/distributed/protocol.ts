/**
 * The coordinator ↔ agent protocol (HTTP + JSON, `Authorization: Bearer <shared token>` on every call):
 *
 *   GET    /agent                 → AgentInfo (threads, busy, the agent's clock)
 *   POST   /runs                  PrepareRequest → PrepareResponse, once every thread has loaded the scenario
 *   POST   /runs/:id/start        StartRequest: the shared start instant, on the agent's clock
 *   GET    /runs/:id/metrics      → MetricsResponse: the metric delta since the last call (drained), and state
 *   POST   /runs/:id/stop         stop starting iterations now (cancel, threshold abort)
 *   DELETE /runs/:id              forget the run (the agent is free again; `--once` agents exit)
 *
 * The coordinator polls (no connection from the agent back to it), so an agent needs only to be reachable.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { MetricsSnapshot } from '../metrics.ts';

export const AGENT_PROTOCOL_VERSION = 1;

export interface AgentInfo {
  protocol: number;
  version: string;
  /** Load-generating threads: the agent's weight when the coordinator splits the run. */
  workers: number;
  /** Id of the run it holds, if any. */
  run: string | null;
  /** The agent's epoch-ms clock, for the coordinator's offset estimate. */
  nowMs: number;
}

const Executor = Type.Object({ type: Type.String() }, { additionalProperties: true });

export const PrepareRequestSchema = Type.Object({
  runId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
  /** `builtin:<name>` (resolved on the agent) or a module URL the agent can import. */
  scenario: Type.String({ minLength: 1, maxLength: 4096 }),
  /** The executor after CLI overrides; the agent derives the plan itself (and validates it). */
  executor: Executor,
  target: Type.String({ minLength: 1, maxLength: 2048 }),
  baseTags: Type.Record(Type.String(), Type.String()),
  /** What the scenario's setup() returned on the coordinator (JSON). */
  data: Type.Optional(Type.Unknown()),
  /** Shards of the whole run, and the ones this agent runs (one thread each). */
  shards: Type.Integer({ minimum: 1, maximum: 4096 }),
  shardIds: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 256 }),
  gracefulStopMs: Type.Number({ minimum: 0, maximum: 3_600_000 }),
  connections: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
}, { additionalProperties: false });
export type PrepareRequest = Static<typeof PrepareRequestSchema>;

export interface PrepareResponse {
  runId: string;
  nowMs: number;
}

export const StartRequestSchema = Type.Object({ startMs: Type.Number({ minimum: 0 }) }, { additionalProperties: false });
export type StartRequest = Static<typeof StartRequestSchema>;

export type RunState = 'ready' | 'running' | 'done' | 'failed';

export interface MetricsResponse {
  state: RunState;
  snapshot: MetricsSnapshot;
  /** Error messages and counts, once done. */
  errors?: Array<[string, number]>;
  /** Why the run failed on this agent. */
  message?: string;
  /** When its last thread finished (the agent's epoch-ms clock), once done. */
  endedMs?: number;
}

export const BUILTIN_PREFIX = 'builtin:';
