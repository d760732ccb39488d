/**
 * The analysis task queue port: priorities, per-type batching, a concurrency limit, per-task
 * deadlines, retries with exponential backoff, cancellation and completion tracking. Two adapters:
 * in-process (embedded deployment) and BullMQ on Redis (scaled: instances share one queue).
 * Handlers do their CPU work in the AnalysisPool, which enforces the memory limit per thread and
 * terminates a thread whose task is aborted—so the `signal` a handler receives is a real kill switch.
 */
export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type TaskPriority = (typeof PRIORITIES)[number];
export type TaskStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface EnqueueRequest<P = unknown> {
  type: string;
  payload: P;
  priority?: TaskPriority;
  /** Total attempts including the first (defaults to the type's registration, else 3). */
  maxAttempts?: number;
  /** Deadline of one attempt (defaults to the type's registration, else 60 s). */
  timeoutMs?: number;
}

export interface TaskRecord<R = unknown> {
  id: string;
  type: string;
  priority: TaskPriority;
  status: TaskStatus;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  result?: R;
  /** Last failure message (kept while retrying). */
  error?: string;
}

export interface TaskContext<P = unknown> {
  id: string;
  payload: P;
  attempt: number;
  /** Aborted on cancellation or when the attempt's deadline passes. */
  signal: AbortSignal;
}

/**
 * Runs a batch of tasks of one type; returns one entry per task, in order: a result, or an Error
 * that fails only that task. Throwing fails the whole batch's attempt.
 */
export type BatchHandler<P = unknown, R = unknown> = (tasks: TaskContext<P>[]) => Promise<Array<R | Error>>;

export interface BatchRule {
  /** Most tasks handed to one handler call. */
  maxBatch: number;
  /** Longest a queued task waits for its batch to fill (critical tasks never wait). */
  maxWaitMs: number;
}

export interface HandlerRegistration<P = unknown, R = unknown> {
  type: string;
  handler: BatchHandler<P, R>;
  batch?: BatchRule;
  timeoutMs?: number;
  maxAttempts?: number;
  /** First retry delay; doubles per attempt (capped at 60 s). */
  backoffMs?: number;
}

export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface TypeStats {
  queued: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
  retried: number;
  /** Enqueue (or retry) to start of execution, ms. */
  waitMs: Percentiles;
  /** Execution of the batch the task ran in, ms. */
  executionMs: Percentiles;
}

export interface QueueStats {
  depth: number;
  running: number;
  /** completed / (completed + failed); cancelled tasks are the caller's choice and not counted. Null before any finish. */
  completionRate: number | null;
  byType: Record<string, TypeStats>;
}

export interface TaskQueue {
  register<P, R>(registration: HandlerRegistration<P, R>): void;
  /** Returns the task id. */
  enqueue<P>(request: EnqueueRequest<P>): Promise<string>;
  get(id: string): Promise<TaskRecord | undefined>;
  /** True when the task was queued or running and is now cancelled. */
  cancel(id: string): Promise<boolean>;
  /** Resolves with the final record (completed, failed or cancelled). */
  waitFor(id: string, timeoutMs?: number): Promise<TaskRecord>;
  stats(): Promise<QueueStats>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_TASK_TIMEOUT_MS = 60_000;
export const DEFAULT_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 60_000;

/** Delay before attempt `attempt + 1` after `attempt` failed: backoff · 2^(attempt − 1), capped. */
export function backoffDelay(backoffMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempt - 1));
}

export function isFinal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}
