/**
 * In-process task queue (embedded deployment). One lane per task type holds a FIFO per priority
 * level; the scheduler starts the best ready batch whenever a slot is free: highest priority first,
 * then the oldest task. A lane is ready when it can fill a batch, its oldest task has waited
 * maxWaitMs, or it holds a critical task. Not durable: tasks die with the process (use the BullMQ
 * adapter when that matters).
 */
import { randomUUID } from 'node:crypto';
import { BadRequestError, isClientError, NotFoundError } from '../../kernel/errors.ts';
import { systemClock, type Clock } from '../../kernel/clock.ts';
import { QueueMetrics } from './metrics.ts';
import {
  DEFAULT_BACKOFF_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TASK_TIMEOUT_MS,
  PRIORITIES,
  backoffDelay,
  isFinal,
  type BatchRule,
  type EnqueueRequest,
  type HandlerRegistration,
  type QueueStats,
  type TaskQueue,
  type TaskRecord,
} from './port.ts';

export interface InProcessQueueOptions {
  /** Handler calls (batches) running at once. */
  concurrency?: number;
  /** Finished records kept for get(); the oldest are forgotten first. */
  retainFinished?: number;
  clock?: Clock;
}

/** Why a running task's signal was aborted. */
export class TaskAbortedError extends Error {
  constructor(readonly reason: 'cancelled' | 'timeout' | 'closed', message: string) {
    super(message);
    this.name = 'TaskAbortedError';
  }
}

interface Entry {
  record: TaskRecord;
  payload: unknown;
  level: number;
  timeoutMs: number;
  readyAt: number;
  inLane: boolean;
  controller: AbortController | undefined;
  waiters: Array<(record: TaskRecord) => void>;
}

/** FIFO with a moving head; compacts when the dead prefix dominates, so pops are O(1) amortized. */
class Fifo {
  private items: Entry[] = [];
  private head = 0;
  push(e: Entry): void {
    this.items.push(e);
  }
  /** First entry still in the lane (cancelled ones are dropped lazily here). */
  peek(): Entry | undefined {
    while (this.head < this.items.length && !this.items[this.head]!.inLane) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return this.items[this.head];
  }
  shift(): Entry | undefined {
    const e = this.peek();
    if (e) this.head++;
    return e;
  }
}

interface Lane {
  registration: HandlerRegistration;
  batch: BatchRule;
  levels: Fifo[];
  queued: number;
  running: number;
}

export class InProcessTaskQueue implements TaskQueue {
  private readonly lanes = new Map<string, Lane>();
  private readonly entries = new Map<string, Entry>();
  private readonly finished: string[] = [];
  private readonly metrics = new QueueMetrics();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly concurrency: number;
  private readonly retain: number;
  private readonly clock: Clock;
  private running = 0;
  private pumpScheduled = false;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(options: InProcessQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 2;
    this.retain = options.retainFinished ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  register<P, R>(registration: HandlerRegistration<P, R>): void {
    const batch = registration.batch ?? { maxBatch: 1, maxWaitMs: 0 };
    if (!(batch.maxBatch >= 1) || !(batch.maxWaitMs >= 0)) throw new RangeError(`invalid batch rule for ${registration.type}`);
    this.lanes.set(registration.type, {
      registration: registration as HandlerRegistration,
      batch,
      levels: PRIORITIES.map(() => new Fifo()),
      queued: 0,
      running: 0,
    });
  }

  async enqueue<P>(request: EnqueueRequest<P>): Promise<string> {
    if (this.closed) throw new Error('task queue is closed');
    const lane = this.lanes.get(request.type);
    if (!lane) throw new BadRequestError(`type must be one of ${[...this.lanes.keys()].join(', ')}`, { field: 'type' });
    const priority = request.priority ?? 'normal';
    const level = PRIORITIES.indexOf(priority);
    if (level < 0) throw new BadRequestError(`priority must be one of ${PRIORITIES.join(', ')}`, { field: 'priority' });
    const reg = lane.registration;
    const now = this.clock.now();
    const entry: Entry = {
      record: {
        id: randomUUID(),
        type: request.type,
        priority,
        status: 'queued',
        attempts: 0,
        maxAttempts: request.maxAttempts ?? reg.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        createdAt: now,
      },
      payload: request.payload,
      level,
      timeoutMs: request.timeoutMs ?? reg.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
      readyAt: now,
      inLane: false,
      controller: undefined,
      waiters: [],
    };
    this.entries.set(entry.record.id, entry);
    this.insert(lane, entry);
    return entry.record.id;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const entry = this.entries.get(id);
    return entry ? { ...entry.record } : undefined;
  }

  async cancel(id: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || isFinal(entry.record.status)) return false;
    const lane = this.lanes.get(entry.record.type)!;
    if (entry.inLane) {
      entry.inLane = false;
      lane.queued--;
    }
    entry.controller?.abort(new TaskAbortedError('cancelled', 'task cancelled'));
    this.finish(entry, 'cancelled');
    return true;
  }

  waitFor(id: string, timeoutMs?: number): Promise<TaskRecord> {
    const entry = this.entries.get(id);
    if (!entry) return Promise.reject(new NotFoundError(`no task ${id}`));
    if (isFinal(entry.record.status)) return Promise.resolve({ ...entry.record });
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => reject(new Error(`task ${id} not finished within ${timeoutMs} ms`)), timeoutMs);
      entry.waiters.push((record) => {
        clearTimeout(timer);
        resolve(record);
      });
    });
  }

  async stats(): Promise<QueueStats> {
    let depth = 0;
    for (const lane of this.lanes.values()) depth += lane.queued;
    return {
      depth,
      running: this.running,
      completionRate: this.metrics.completionRate(),
      byType: this.metrics.snapshot((type) => {
        const lane = this.lanes.get(type);
        return { queued: lane?.queued ?? 0, running: lane?.running ?? 0 };
      }, this.lanes.keys()),
    };
  }

  /** Stops scheduling; running tasks are aborted and unfinished ones fail with "queue closed". */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.wakeTimer);
    for (const entry of this.entries.values()) {
      if (isFinal(entry.record.status)) continue;
      entry.controller?.abort(new TaskAbortedError('closed', 'queue closed'));
      entry.record.error = 'queue closed before the task finished';
      this.finish(entry, 'failed');
    }
  }

  private insert(lane: Lane, entry: Entry): void {
    entry.inLane = true;
    entry.readyAt = this.clock.now();
    entry.record.status = 'queued';
    lane.levels[entry.level]!.push(entry);
    lane.queued++;
    this.schedulePump();
  }

  /** Coalesces the scheduling work of many enqueues in one tick into one pass. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.clock.now();
    let wakeAt = Infinity;
    while (this.running < this.concurrency) {
      let best: Lane | undefined;
      let bestLevel: number = PRIORITIES.length;
      let bestOldest = Infinity;
      for (const lane of this.lanes.values()) {
        if (lane.queued === 0) continue;
        let level = -1;
        let oldest = Infinity;
        for (let l = 0; l < lane.levels.length; l++) {
          const head = lane.levels[l]!.peek();
          if (!head) continue;
          if (level < 0) level = l;
          if (head.readyAt < oldest) oldest = head.readyAt;
        }
        const ready = level === 0 || lane.queued >= lane.batch.maxBatch || now - oldest >= lane.batch.maxWaitMs;
        if (!ready) {
          wakeAt = Math.min(wakeAt, oldest + lane.batch.maxWaitMs);
          continue;
        }
        if (level < bestLevel || (level === bestLevel && oldest < bestOldest)) {
          best = lane;
          bestLevel = level;
          bestOldest = oldest;
        }
      }
      if (!best) break;
      this.dispatch(best, now);
    }
    clearTimeout(this.wakeTimer);
    if (wakeAt < Infinity && this.running < this.concurrency) {
      this.wakeTimer = setTimeout(() => this.pump(), Math.max(0, wakeAt - now));
    }
  }

  /** Takes up to maxBatch tasks (priority order) from the lane and runs them in one handler call. */
  private dispatch(lane: Lane, now: number): void {
    const batch: Entry[] = [];
    for (let l = 0; l < lane.levels.length && batch.length < lane.batch.maxBatch; l++) {
      const fifo = lane.levels[l]!;
      while (batch.length < lane.batch.maxBatch) {
        const e = fifo.shift();
        if (!e) break;
        e.inLane = false;
        batch.push(e);
      }
    }
    lane.queued -= batch.length;
    lane.running++;
    this.running++;
    let deadline = Infinity;
    for (const e of batch) {
      e.record.status = 'running';
      e.record.attempts++;
      e.record.startedAt = now;
      e.controller = new AbortController();
      deadline = Math.min(deadline, e.timeoutMs);
      this.metrics.started(e.record.type, now - e.readyAt);
    }
    const started = performance.now();
    let done = false;
    const complete = (outcomes: Array<unknown> | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.timers.delete(timer);
      lane.running--;
      this.running--;
      const elapsed = performance.now() - started;
      batch.forEach((e, i) => {
        if (e.record.status !== 'running') return; // cancelled meanwhile
        this.metrics.executed(e.record.type, elapsed);
        const outcome = outcomes instanceof Error ? outcomes : outcomes[i];
        if (outcome instanceof Error) this.fail(lane, e, outcome);
        else {
          e.record.result = outcome;
          this.finish(e, 'completed');
        }
      });
      this.schedulePump();
    };
    // A batch's deadline is its strictest task's: no task runs longer than it asked.
    const timer = setTimeout(() => {
      const error = new TaskAbortedError('timeout', `task exceeded its ${deadline} ms deadline`);
      for (const e of batch) e.controller?.abort(error);
      complete(error);
    }, deadline);
    this.timers.add(timer);
    const contexts = batch.map((e) => ({ id: e.record.id, payload: e.payload, attempt: e.record.attempts, signal: e.controller!.signal }));
    Promise.resolve()
      .then(() => lane.registration.handler(contexts))
      .then(
        (results) => complete(Array.isArray(results) && results.length === batch.length ? results : new Error(`handler for ${lane.registration.type} returned ${Array.isArray(results) ? results.length : 'no'} results for ${batch.length} tasks`)),
        (error: unknown) => complete(error instanceof Error ? error : new Error(String(error))),
      );
  }

  private fail(lane: Lane, entry: Entry, error: Error): void {
    entry.record.error = error.message;
    entry.controller = undefined;
    if (entry.record.attempts >= entry.record.maxAttempts || isClientError(error)) {
      this.finish(entry, 'failed');
      return;
    }
    this.metrics.count(entry.record.type, 'retried');
    entry.record.status = 'queued';
    const delay = backoffDelay(lane.registration.backoffMs ?? DEFAULT_BACKOFF_MS, entry.record.attempts);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (entry.record.status === 'queued' && !this.closed) this.insert(lane, entry);
    }, delay);
    this.timers.add(timer);
  }

  private finish(entry: Entry, status: 'completed' | 'failed' | 'cancelled'): void {
    entry.record.status = status;
    entry.record.finishedAt = this.clock.now();
    entry.controller = undefined;
    this.metrics.count(entry.record.type, status);
    const record = { ...entry.record };
    for (const notify of entry.waiters.splice(0)) notify(record);
    this.finished.push(entry.record.id);
    if (this.finished.length > this.retain) this.entries.delete(this.finished.shift()!);
  }
}
